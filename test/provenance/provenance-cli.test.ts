import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanReport } from '../report/fixtures.js';
import { ecKeys, signModelFolder } from './helpers/model-signer.js';
import * as G from './helpers/onnx-graphs.js';
import { runProvenanceCli as cli } from './helpers/provenance-cli.js';

const VECTORS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'integrity', 'vectors', 'model-signing');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-prov-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function signedModel(): { dir: string; keyFile: string } {
  const dir = path.join(tmp, `model-${n++}`);
  mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  writeFileSync(path.join(dir, 'onnx', 'model.onnx'), G.cleanLm());
  writeFileSync(path.join(dir, 'config.json'), '{"model_type":"gpt2"}');
  const key = ecKeys('P-256');
  writeFileSync(path.join(dir, 'model.sig'), signModelFolder(dir, key));
  const keyFile = path.join(tmp, `pub-${n++}.pem`);
  writeFileSync(keyFile, key.publicPem);
  return { dir, keyFile };
}
const pins = () => path.join(tmp, `cfg-${n++}`, 'pins.json');

describe('trigger-scan verify', () => {
  it('passes on a correctly signed folder and fails on a copy with one byte changed, naming the file', async () => {
    const { dir, keyFile } = signedModel();
    const ok = await cli(['verify', dir, '--key', keyFile, '--pin', 'off']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/signature {2}verified \(key/);
    expect(ok.stdout).toMatch(/result: ok/);

    const copy = path.join(tmp, `copy-${n++}`);
    cpSync(dir, copy, { recursive: true });
    const bytes = readFileSync(path.join(copy, 'config.json'));
    bytes[2] = (bytes[2] as number) + 1;
    writeFileSync(path.join(copy, 'config.json'), bytes);
    const bad = await cli(['verify', copy, '--key', keyFile, '--pin', 'off']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/signature {2}failed/);
    expect(bad.stdout).toContain(`${path.join(copy, 'config.json')}: content differs from the signed digest`);
    expect(bad.stdout).toMatch(/result: FAILED/);
  });

  it('verifies the upstream model_signing vector and fails it with another key', async () => {
    const dir = path.join(VECTORS, 'v1.1.0-elliptic-key');
    const ok = await cli(['verify', dir, '--key', path.join(VECTORS, 'keys', 'signing-key-pub.pem'), '--pin', 'off', '--json']);
    expect(ok.code, ok.stdout).toBe(0);
    expect(JSON.parse(ok.stdout).signature.status).toBe('verified');
    const other = path.join(tmp, 'other.pem');
    writeFileSync(other, ecKeys('P-384').publicPem);
    expect((await cli(['verify', dir, '--key', other, '--pin', 'off'])).code).toBe(1);
    const cert = await cli(['verify', path.join(VECTORS, 'v1.1.0-certificate'), '--trust-cert', path.join(VECTORS, 'keys', 'intermediate-ca.pem'), '--pin', 'off', '--json']);
    expect(JSON.parse(cert.stdout).signature.status).toBe('verified');
  });

  it('--pin strict: a second run after a file changed fails with the per-file diff', async () => {
    const { dir } = signedModel();
    const file = pins();
    const first = await cli(['verify', dir, '--pins', file, '--pin-name', 'acme/model', '--pin', 'accept-new']);
    expect(first.code, first.stdout).toBe(0);
    expect(first.stdout).toMatch(/pin {8}recorded: .*first use/);
    expect((await cli(['verify', dir, '--pins', file, '--pin-name', 'acme/model', '--pin', 'strict'])).code).toBe(0);

    writeFileSync(path.join(dir, 'onnx', 'model.onnx'), G.shadowLogicLm());
    writeFileSync(path.join(dir, 'extra.safetensors'), 'x');
    const r = await cli(['verify', dir, '--pins', file, '--pin-name', 'acme/model', '--pin', 'strict']);
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toContain(dir);
    expect(lines[0]).toMatch(/MODEL CONTENTS HAVE CHANGED since pinned as "acme\/model"/);
    expect(r.stderr).toMatch(/changed {2}onnx\/model\.onnx {2}pinned [0-9a-f]{16}… {2}now [0-9a-f]{16}…/);
    expect(r.stderr).toMatch(/extra {4}extra\.safetensors/);
    expect(r.stdout).toMatch(/pin {8}mismatch/);

    // accepting the change with pin update makes strict pass again
    const up = await cli(['pin', 'update', dir, '--pins', file, '--pin-name', 'acme/model']);
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/changed {2}onnx\/model\.onnx/);
    expect(up.stdout).toMatch(/added {4}extra\.safetensors/);
    const after = await cli(['verify', dir, '--pins', file, '--pin-name', 'acme/model', '--pin', 'strict', '--json']);
    expect(JSON.parse(after.stdout).pin.status).toBe('match');
  });

  it('--pin strict fails on a model never pinned', async () => {
    const { dir } = signedModel();
    const r = await cli(['verify', dir, '--pins', pins(), '--pin', 'strict']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/pin {8}unknown/);
  });

  it('--expect: every source must agree', async () => {
    const { dir } = signedModel();
    const j = JSON.parse((await cli(['verify', dir, '--pin', 'off', '--json'])).stdout);
    expect((await cli(['verify', dir, '--pin', 'off', '--expect', j.rootDigest, '--expect', `sha256:${j.directoryDigest}`])).code).toBe(0);
    const sums = path.join(tmp, `SUMS-${n++}`);
    writeFileSync(sums, j.files.map((f: { path: string; sha256: string }) => `${f.path === 'config.json' ? '0'.repeat(64) : f.sha256}  ${f.path}`).join('\n'));
    const r = await cli(['verify', dir, '--pin', 'off', '--expect', j.rootDigest, '--expect', sums]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/expect {5}ok/);
    expect(r.stdout).toMatch(new RegExp(`expect {5}FAILED  .*SUMS-\\d+: disagrees about 1 file; first: config\\.json`));
  });

  it('a ShadowLogic graph fails verify; bad input exits 2 with one line', async () => {
    const dir = path.join(tmp, `sl-${n++}`);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'model.onnx'), G.shadowLogicLm());
    const r = await cli(['verify', dir, '--pin', 'off']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/HIGH {4} onnx\.input-conditioned-branch/);

    for (const args of [
      ['verify', path.join(tmp, 'no-such-dir'), '--pin', 'off'],
      ['verify', dir, '--pin', 'sometimes'],
      ['verify', dir, '--pin', 'off', '--expect', 'not-a-digest'],
      ['verify', dir, '--pin', 'off', '--key', path.join(tmp, 'missing.pem')],
      ['verify', dir, '--pin', 'off', '--signature', path.join(tmp, 'missing.sig')],
    ]) {
      const b = await cli(args);
      expect(b.code, args.join(' ')).toBe(2);
    }
    const one = await cli(['verify', dir, '--pin', 'off', '--expect', 'not-a-digest']);
    expect(one.stderr.trim().split('\n')).toHaveLength(1);
    expect(one.stderr).toContain('not-a-digest');
  });
});

describe('trigger-scan pin', () => {
  it('list, update and revoke', async () => {
    const { dir } = signedModel();
    const file = pins();
    expect((await cli(['pin', 'update', dir, '--pins', file, '--pin-name', 'm1', '--note', 'from the hub'])).stdout).toMatch(/pinned 2 files .* as "m1"/);
    const list = await cli(['pin', 'list', '--pins', file, '--json']);
    expect(Object.keys(JSON.parse(list.stdout).models)).toEqual(['m1']);
    expect((await cli(['pin', 'list', '--pins', file])).stdout).toMatch(/1 pinned model\n {2}m1\n.*\(from the hub\)/);
    expect((await cli(['pin', 'revoke', 'm1', '--pins', file])).code).toBe(0);
    const again = await cli(['pin', 'revoke', 'm1', '--pins', file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no pin named "m1"/);
  });
});

describe('trigger-scan attest / verify-attestation', () => {
  it('an attestation verifies, and fails after the report is edited', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const priv = path.join(tmp, 'att.key');
    const pub = path.join(tmp, 'att.pub');
    writeFileSync(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const report = path.join(tmp, 'report.json');
    // A whole report: attest validates it against the report schema first.
    writeFileSync(report, JSON.stringify({ ...cleanReport(), model: { ...cleanReport().model, dir: '/m/demo' } }));
    const env = path.join(tmp, 'report.intoto.json');
    const a = await cli(['attest', '--report', report, '--key', priv, '--out', env]);
    expect(a.code, a.stderr).toBe(0);
    const ok = await cli(['verify-attestation', env, '--report', report, '--key', pub]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/^ok: .* attests PASSED for demo/);
    writeFileSync(report, JSON.stringify({ ...JSON.parse(readFileSync(report, 'utf8')), verdict: { ...cleanReport().verdict, level: 'flagged' } }));
    const bad = await cli(['verify-attestation', env, '--report', report, '--key', pub]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAILED: .*report was changed after it was attested/);
  });
});
