import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { severityRank } from '../../src/formats/finding.js';
import type { Finding } from '../../src/formats/finding.js';
import { scanPickleFile } from '../../src/formats/pickle-scan.js';
import { inspectSafetensors } from '../../src/formats/safetensors.js';
import { checkSafetensorsIndex } from '../../src/formats/safetensors-index.js';
import { auditOnnx } from '../../src/provenance/audits/onnx-audit.js';
import { runProvenanceCli } from './helpers/provenance-cli.js';
import { HOSTILE_CASES } from './helpers/hostile-corpus.js';

const CORPUS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'hostile');

async function run(check: string, file: string): Promise<Finding[]> {
  if (check === 'safetensors') return (await inspectSafetensors(file)).findings;
  if (check === 'pickle') return (await scanPickleFile(file)).findings;
  if (check === 'index') return (await checkSafetensorsIndex(path.dirname(file), { indexName: path.basename(file), checkShards: true })).findings;
  if (check === 'onnx') return (await auditOnnx(file, { modelDir: path.dirname(file) })).findings;
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

describe('trigger-scan verify on each corpus folder', () => {
  // Every folder of the corpus is treated as a model folder: it must yield the ids of its files and
  // exit 1 when any of them is hostile, 0 for a folder of controls; nothing may crash (exit 3).
  const folders = new Map<string, { ids: Set<string>; hostile: boolean }>();
  for (const c of HOSTILE_CASES) {
    const dir = path.posix.dirname(c.path);
    const f = folders.get(dir) ?? { ids: new Set<string>(), hostile: false };
    for (const id of c.expect) f.ids.add(id);
    if (c.expect.length > 0) f.hostile = true;
    folders.set(dir, f);
  }
  it.each([...folders].map(([dir, f]) => [dir, f.hostile ? 1 : 0, f] as const))('%s exits %i with its finding ids', async (dir, code, f) => {
    const r = await runProvenanceCli(['verify', path.join(CORPUS, ...dir.split('/')), '--pin', 'off', '--json']);
    expect(r.code, r.stderr).toBe(code);
    const out = JSON.parse(r.stdout) as { findings: Finding[]; ok: boolean };
    const got = new Set(out.findings.map((x) => x.id));
    for (const id of f.ids) expect(got, `expected ${id}`).toContain(id);
  });
});
