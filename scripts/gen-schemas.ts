/**
 * Writes the JSON Schemas of report.json and `verify --json` into schemas/ from their zod schemas.
 * `--check` exits 1 instead of writing when a committed file is stale.
 * Run: npx tsx scripts/gen-schemas.ts [--check]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOCUMENT_SCHEMAS, renderDocumentJsonSchema, type SchemaFile } from '../src/report/json-schema.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'schemas');
const check = process.argv.includes('--check');
await mkdir(dir, { recursive: true });
for (const file of Object.keys(DOCUMENT_SCHEMAS) as SchemaFile[]) {
  const target = path.join(dir, file);
  const text = renderDocumentJsonSchema(file);
  if (check) {
    if ((await readFile(target, 'utf8').catch(() => '')) !== text) {
      console.error(`${target} is stale; run: npx tsx scripts/gen-schemas.ts`);
      process.exitCode = 1;
    }
  } else {
    await writeFile(target, text);
    console.log(`wrote ${target}`);
  }
}
