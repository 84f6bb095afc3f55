import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { severityRank } from '../../src/provenance/finding.js';
import type { Finding } from '../../src/provenance/finding.js';
import { scanPickleFile } from '../../src/provenance/pickle-scan.js';
import { inspectSafetensors } from '../../src/provenance/safetensors.js';
import { checkSafetensorsIndex } from '../../src/provenance/safetensors-index.js';
import { HOSTILE_CASES } from './helpers/hostile-corpus.js';

const CORPUS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'hostile');

async function run(check: string, file: string): Promise<Finding[]> {
  if (check === 'safetensors') return (await inspectSafetensors(file)).findings;
  if (check === 'pickle') return (await scanPickleFile(file)).findings;
  if (check === 'index') return (await checkSafetensorsIndex(path.dirname(file), { indexName: path.basename(file), checkShards: true })).findings;
  return [];
}

describe('hostile corpus (test/fixtures/hostile)', () => {
  it.each(HOSTILE_CASES.map((c) => [c.path, c] as const))('%s is committed and up to date', async (_p, c) => {
    const onDisk = await readFile(path.join(CORPUS, ...c.path.split('/')));
    expect(Buffer.compare(onDisk, Buffer.from(c.bytes())), 'regenerate with: npx tsx scripts/make-hostile-corpus.ts').toBe(0);
  });

  it.each(HOSTILE_CASES.filter((c) => c.check !== 'none').map((c) => [c.path, c.why, c] as const))('%s (%s) yields its findings without throwing', async (_p, _why, c) => {
    const findings = await run(c.check, path.join(CORPUS, ...c.path.split('/')));
    const got = new Set(findings.map((f) => f.id));
    for (const id of c.expect) expect(got, `expected ${id}`).toContain(id);
    if (c.worstAllowed) {
      const worst = Math.max(-1, ...findings.map((f) => severityRank(f.severity)));
      expect(worst, JSON.stringify(findings)).toBeLessThanOrEqual(severityRank(c.worstAllowed));
    }
    for (const f of findings) expect(f.message).not.toContain('\n');
  });
});
