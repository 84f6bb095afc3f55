import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../../src/errors.js';
import { checkExpectations, parseSha256Sums } from '../../../src/provenance/integrity/expect.js';
import { MODEL_SIGNING_IGNORE, buildManifest } from '../../../src/provenance/integrity/manifest.js';
import { ecKeys, signModelFolder } from '../helpers/model-signer.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-expect-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function folder(): string {
  const d = path.join(tmp, 'model');
  mkdirSync(path.join(d, 'onnx'), { recursive: true });
  writeFileSync(path.join(d, 'config.json'), '{}');
  writeFileSync(path.join(d, 'onnx/model.onnx'), 'graph');
  return d;
}
const d = folder();
const sha = (s: string) => import('node:crypto').then((c) => c.createHash('sha256').update(s).digest('hex'));

describe('checkExpectations', () => {
  it('a bare digest or sha256:<hex> matches the root digest or the directory digest', async () => {
    const m = await buildManifest(d, { ignore: MODEL_SIGNING_IGNORE });
    const r = await checkExpectations(m, [m.rootDigest, `sha256:${m.directoryDigest}`, m.rootDigest.toUpperCase()]);
    expect(r.map((x) => [x.ok, x.matched])).toEqual([[true, 'rootDigest'], [true, 'directoryDigest'], [true, 'rootDigest']]);
    const bad = await checkExpectations(m, ['0'.repeat(64)]);
    expect(bad[0]?.ok).toBe(false);
    expect(bad[0]?.message).toContain(d);
  });

  it('a SHA256SUMS list: listed files must match; the disagreeing file is named', async () => {
    const m = await buildManifest(d, { ignore: MODEL_SIGNING_IGNORE });
    const good = path.join(tmp, 'SHA256SUMS');
    writeFileSync(good, `${await sha('{}')}  config.json\n${await sha('graph')} *./onnx/model.onnx\n`);
    const ok = await checkExpectations(m, [good]);
    expect(ok[0]).toMatchObject({ ok: true, kind: 'sha256sums' });
    const bad = path.join(tmp, 'SHA256SUMS.bad');
    writeFileSync(bad, `${await sha('{}')}  config.json\n${await sha('other graph')}  onnx/model.onnx\nSHA256 (tokenizer.json) = ${await sha('x')}\n`);
    const r = await checkExpectations(m, [good, bad]);
    expect(r.map((x) => x.ok)).toEqual([true, false]);
    expect(r[1]?.problems.filter((p) => p.kind !== 'not-listed')).toEqual([
      expect.objectContaining({ kind: 'changed', file: 'onnx/model.onnx' }),
      expect.objectContaining({ kind: 'missing', file: 'tokenizer.json' }),
    ]);
    expect(r[1]?.message).toMatch(/SHA256SUMS\.bad: disagrees about 2 files; first: onnx\/model\.onnx/);
  });

  it('unlisted folder files are reported but do not fail a SHA256SUMS source', async () => {
    const m = await buildManifest(d, { ignore: MODEL_SIGNING_IGNORE });
    const f = path.join(tmp, 'partial.sha256');
    writeFileSync(f, `${await sha('{}')}  model/config.json\n`);
    const [r] = await checkExpectations(m, [f]);
    expect(r?.ok).toBe(true);
    expect(r?.problems).toEqual([expect.objectContaining({ kind: 'not-listed', file: 'onnx/model.onnx' })]);
  });

  it("the demo model's own SHA256SUMS matches it", async () => {
    const demo = path.join(REPO, 'models', 'demo-clean');
    const m = await buildManifest(demo, { ignore: MODEL_SIGNING_IGNORE }).catch(() => undefined);
    if (!m) return; // built by another engineer; absent in a fresh checkout without models
    const [r] = await checkExpectations(m, [path.join(demo, 'SHA256SUMS')]);
    expect(r?.ok, r?.message).toBe(true);
  });

  it('a model.sig used as a digest list: compared as a set, signature not needed', async () => {
    const m = await buildManifest(d, { ignore: MODEL_SIGNING_IGNORE });
    const sig = path.join(tmp, 'published.sig');
    writeFileSync(sig, signModelFolder(d, ecKeys('P-256')));
    expect((await checkExpectations(m, [sig]))[0]).toMatchObject({ ok: true, kind: 'model-signing' });
    writeFileSync(path.join(d, 'extra.py'), 'import os');
    const m2 = await buildManifest(d, { ignore: MODEL_SIGNING_IGNORE });
    const [r] = await checkExpectations(m2, [sig]);
    expect(r?.ok).toBe(false);
    expect(r?.problems).toEqual([{ kind: 'extra', file: 'extra.py' }]);
    rmSync(path.join(d, 'extra.py'));
  });

  it('every source must agree: one disagreeing source among good ones fails alone', async () => {
    const m = await buildManifest(d, { ignore: MODEL_SIGNING_IGNORE });
    const r = await checkExpectations(m, [m.rootDigest, 'f'.repeat(64)]);
    expect(r.map((x) => x.ok)).toEqual([true, false]);
    expect(r[1]?.source).toBe('f'.repeat(64));
  });

  it('bad sources are UserErrors (a typo must not pass)', async () => {
    const m = await buildManifest(d, { ignore: MODEL_SIGNING_IGNORE });
    const junk = path.join(tmp, 'junk.txt');
    writeFileSync(junk, 'hello world\n');
    for (const s of ['abc123', path.join(tmp, 'nope'), junk]) {
      const err = await checkExpectations(m, [s]).catch((e: unknown) => e);
      expect(isUserError(err), s).toBe(true);
      expect((err as Error).message).toContain(s);
    }
  });

  it('parseSha256Sums refuses a file listing one path twice with different digests', () => {
    expect(parseSha256Sums(`${'a'.repeat(64)}  x\n${'b'.repeat(64)}  ./x\n`)).toEqual({ error: expect.stringMatching(/second time/) });
  });
});
