/**
 * Writes probes/schema.json from the zod schema. `--check` exits 1 instead of writing when the file is stale.
 * Run: npx tsx scripts/gen-probe-schema.ts [--check]
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderProbePackJsonSchema } from '../src/probes/json-schema.js';
import { builtinPacksDir } from '../src/probes/load-pack.js';

const target = path.join(builtinPacksDir(), 'schema.json');
const text = renderProbePackJsonSchema();
if (process.argv.includes('--check')) {
  const current = await readFile(target, 'utf8').catch(() => '');
  if (current !== text) {
    console.error(`${target} is stale; run: npx tsx scripts/gen-probe-schema.ts`);
    process.exitCode = 1;
  }
} else {
  await writeFile(target, text);
  console.log(`wrote ${target}`);
}
