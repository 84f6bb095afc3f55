import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MODEL_SIGNING_IGNORE, buildManifest } from '../../../src/provenance/integrity/manifest.js';
import { verifyModelSignature } from '../../../src/provenance/integrity/model-signing.js';
import type { SignatureCheck } from '../../../src/provenance/integrity/model-signing.js';
import { type Curve, ecKeys, signModelFolder } from '../helpers/model-signer.js';
import { CODE_SIGNING, SERVER_AUTH, makeCert, toPem } from '../helpers/x509.js';

const VECTORS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'vectors', 'model-signing');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-model-signing-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function modelDir(files: Record<string, string> = { 'config.json': '{"model_type":"gpt2"}\n', 'model.safetensors': 'weights', 'onnx/model.onnx': 'graph', 'tokenizer.json': '{}' }): string {
  const d = path.join(tmp, `m${n++}`);
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(d, p)), { recursive: true });
    writeFileSync(path.join(d, p), c);
  }
  return d;
}

async function verify(dir: string, opts: { publicKeyPem?: string; trustCertPem?: string; sig?: string } = {}): Promise<SignatureCheck> {
  const m = await buildManifest(dir, { ignore: MODEL_SIGNING_IGNORE });
  return verifyModelSignature(m, { sigPath: opts.sig ?? path.join(dir, 'model.sig'), ...opts });
}
const ids = (c: SignatureCheck) => c.findings.map((f) => f.id);

describe('model_signing interop vectors (written by the reference implementation)', () => {
  const pub = readFileSync(path.join(VECTORS, 'keys', 'signing-key-pub.pem'), 'utf8');

  it('v1.1.0 key method (P-384, key hint): verifies, and lists the ignored file as present-but-unsigned', async () => {
    const c = await verify(path.join(VECTORS, 'v1.1.0-elliptic-key'), { publicKeyPem: pub });
    expect(c.status, c.reasons.join('; ')).toBe('verified');
    expect(c.method).toBe('key');
    expect(c.signer.keyHint).toBe('e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e');
    expect(c.signer.algorithm).toBe('ecdsa-p384-sha384');
    expect(c.rootDigest).toBe('92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4');
    expect(c.diff.ignoredPresent).toEqual(['ignore-me']);
    expect(c.findings.find((f) => f.id === 'model-signing.ignored-file-present')?.severity).toBe('info');
  });

  it('v1.1.0 key method: the root digest equals our manifest rootDigest for the signed files', async () => {
    const m = await buildManifest(path.join(VECTORS, 'v1.1.0-elliptic-key'), { ignore: [...MODEL_SIGNING_IGNORE, 'ignore-me'] });
    expect(m.rootDigest).toBe('92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4');
  });

  it('v1.1.0 key method without a key: unverified, not failed', async () => {
    const c = await verify(path.join(VECTORS, 'v1.1.0-elliptic-key'));
    expect(c.status).toBe('unverified');
    expect(c.failed).toBe(false);
    expect(ids(c)).toContain('model-signing.not-verified');
  });

  it('v1.0.1 bundle embedding its key: verifies with the given key, warns about the embedded key', async () => {
    const c = await verify(path.join(VECTORS, 'v1.0.1-elliptic-key'), { publicKeyPem: pub });
    expect(c.status, c.reasons.join('; ')).toBe('verified');
    expect(ids(c)).toContain('model-signing.legacy-key-material');
  });

  it('v1.0.1 bundle: the embedded key is never trusted on its own', async () => {
    const other = ecKeys('P-384');
    const c = await verify(path.join(VECTORS, 'v1.0.1-elliptic-key'), { publicKeyPem: other.publicPem });
    expect(c.status).toBe('failed');
    expect(ids(c)).toContain('model-signing.bad-signature');
  });

  it('v1.1.0 certificate method: verifies with the intermediate as trust anchor', async () => {
    const ca = readFileSync(path.join(VECTORS, 'keys', 'intermediate-ca.pem'), 'utf8');
    const c = await verify(path.join(VECTORS, 'v1.1.0-certificate'), { trustCertPem: ca });
    expect(c.status, c.reasons.join('; ')).toBe('verified');
    expect(c.method).toBe('certificate');
    expect(c.signer.certIssuer).toContain('intermediate-ca');
  });

  it('v1.1.0 certificate method: signature checked, chain unanchored without --trust-cert', async () => {
    const c = await verify(path.join(VECTORS, 'v1.1.0-certificate'));
    expect(c.status).toBe('unverified');
    expect(c.reasons.join(' ')).toMatch(/trust-cert/);
  });

  it('a changed byte in an interop vector fails, naming the file', async () => {
    const d = path.join(tmp, 'v1.1.0-elliptic-key');
    cpSync(path.join(VECTORS, 'v1.1.0-elliptic-key'), d, { recursive: true });
    writeFileSync(path.join(d, 'signme-2'), 'signme-3');
    const c = await verify(d, { publicKeyPem: pub });
    expect(c.status).toBe('failed');
    expect(c.diff.changed.map((x) => x.path)).toEqual(['signme-2']);
    const f = c.findings.find((x) => x.id === 'model-signing.file-changed');
    expect(f?.severity).toBe('critical');
    expect(f?.message).toContain(path.join(d, 'signme-2'));
  });
});

describe('model_signing vectors made with node:crypto', () => {
  for (const curve of ['P-256', 'P-384', 'P-521'] as Curve[]) {
    it(`${curve}: a correctly signed folder verifies; a one-byte change fails naming the file`, async () => {
      const key = ecKeys(curve);
      const d = modelDir();
      writeFileSync(path.join(d, 'model.sig'), signModelFolder(d, key));
      const ok = await verify(d, { publicKeyPem: key.publicPem });
      expect(ok.status, ok.reasons.join('; ')).toBe('verified');
      expect(ok.findings.filter((f) => f.severity !== 'info')).toEqual([]);

      const bytes = readFileSync(path.join(d, 'onnx/model.onnx'));
      bytes[0] = (bytes[0] as number) ^ 1;
      writeFileSync(path.join(d, 'onnx/model.onnx'), bytes);
      const bad = await verify(d, { publicKeyPem: key.publicPem });
      expect(bad.status).toBe('failed');
      expect(bad.diff.changed.map((x) => x.path)).toEqual(['onnx/model.onnx']);
      expect(bad.reasons.join(' ')).toContain('onnx/model.onnx');
    });
  }

  it('a wrong key fails with the key hint named', async () => {
    const key = ecKeys('P-256');
    const d = modelDir();
    writeFileSync(path.join(d, 'model.sig'), signModelFolder(d, key));
    const c = await verify(d, { publicKeyPem: ecKeys('P-256').publicPem });
    expect(c.status).toBe('failed');
    expect(ids(c)).toContain('model-signing.wrong-key');
  });

  it('a wrong key with the hint removed still fails on the signature', async () => {
    const key = ecKeys('P-256');
    const d = modelDir();
    const sig = JSON.parse(signModelFolder(d, key));
    delete sig.verificationMaterial.publicKey.hint;
    writeFileSync(path.join(d, 'model.sig'), JSON.stringify(sig));
    const c = await verify(d, { publicKeyPem: ecKeys('P-256').publicPem });
    expect(c.status).toBe('failed');
    expect(ids(c)).toContain('model-signing.bad-signature');
  });

  it('a tampered payload (digest swapped after signing) fails on the signature', async () => {
    const key = ecKeys('P-384');
    const d = modelDir();
    const sig = JSON.parse(signModelFolder(d, key));
    const st = JSON.parse(Buffer.from(sig.dsseEnvelope.payload, 'base64').toString());
    st.predicate.resources[0].digest = 'f'.repeat(64);
    sig.dsseEnvelope.payload = Buffer.from(JSON.stringify(st)).toString('base64');
    writeFileSync(path.join(d, 'model.sig'), JSON.stringify(sig));
    const c = await verify(d, { publicKeyPem: key.publicPem });
    expect(c.status).toBe('failed');
    expect(ids(c)).toContain('model-signing.bad-signature');
  });

  it('a signed payload whose root does not match its resources is refused', async () => {
    const key = ecKeys('P-256');
    const d = modelDir();
    writeFileSync(path.join(d, 'model.sig'), signModelFolder(d, key, { editStatement: (s) => ((s.subject as { digest: { sha256: string } }[])[0]!.digest.sha256 = '0'.repeat(64)) }));
    const c = await verify(d, { publicKeyPem: key.publicPem });
    expect(c.status).toBe('failed');
    expect(c.reasons.join(' ')).toMatch(/root digest/);
  });

  it('files present but not signed are findings, not skipped; missing files too', async () => {
    const key = ecKeys('P-256');
    const d = modelDir();
    writeFileSync(path.join(d, 'model.sig'), signModelFolder(d, key));
    writeFileSync(path.join(d, 'custom_op.so'), 'ELF');
    rmSync(path.join(d, 'tokenizer.json'));
    const c = await verify(d, { publicKeyPem: key.publicPem });
    expect(c.status).toBe('failed');
    expect(c.diff.extra).toEqual(['custom_op.so']);
    expect(c.diff.missing).toEqual(['tokenizer.json']);
    expect(ids(c)).toEqual(expect.arrayContaining(['model-signing.unsigned-file', 'model-signing.file-missing']));
  });

  it('a renamed file (same content) is caught although the root digest is unchanged', async () => {
    const key = ecKeys('P-256');
    const d = modelDir({ 'a.bin': 'A', 'b.bin': 'B' });
    writeFileSync(path.join(d, 'model.sig'), signModelFolder(d, key));
    rmSync(path.join(d, 'b.bin'));
    writeFileSync(path.join(d, 'b2.bin'), 'B');
    const c = await verify(d, { publicKeyPem: key.publicPem });
    expect(c.diff.missing).toEqual(['b.bin']);
    expect(c.diff.extra).toEqual(['b2.bin']);
  });

  it('ignore_paths from the payload are honoured but listed as present-and-unsigned', async () => {
    const key = ecKeys('P-256');
    const d = modelDir({ 'model.onnx': 'g', 'notes/readme.md': 'hi' });
    writeFileSync(path.join(d, 'model.sig'), signModelFolder(d, key, { ignorePaths: ['notes'] }));
    writeFileSync(path.join(d, 'notes/readme.md'), 'changed');
    const c = await verify(d, { publicKeyPem: key.publicPem });
    expect(c.status).toBe('verified');
    expect(c.diff.ignoredPresent).toEqual(['notes/readme.md']);
  });

  it('the shards method is verified range by range', async () => {
    const key = ecKeys('P-256');
    const d = modelDir({ 'w.bin': 'x'.repeat(100), 'empty.bin': '' });
    writeFileSync(path.join(d, 'model.sig'), signModelFolder(d, key, { shardSize: 30 }));
    expect((await verify(d, { publicKeyPem: key.publicPem })).status).toBe('verified');
    writeFileSync(path.join(d, 'w.bin'), `${'x'.repeat(70)}y${'x'.repeat(29)}`);
    const bad = await verify(d, { publicKeyPem: key.publicPem });
    expect(bad.status).toBe('failed');
    expect(bad.diff.changed[0]?.path).toBe('w.bin');
  });

  it('a signature file outside the folder works and is not counted as an extra file', async () => {
    const key = ecKeys('P-256');
    const d = modelDir();
    const sigFile = path.join(tmp, `outside-${n}.sig`);
    writeFileSync(sigFile, signModelFolder(d, key));
    const c = await verify(d, { publicKeyPem: key.publicPem, sig: sigFile });
    expect(c.status).toBe('verified');
  });

  it('malformed bundles are failures, never crashes', async () => {
    const key = ecKeys('P-256');
    const d = modelDir();
    const good = JSON.parse(signModelFolder(d, key));
    const cases: unknown[] = [
      'not json',
      { ...good, mediaType: 'application/vnd.dev.sigstore.bundle.v0.1+json' },
      { ...good, dsseEnvelope: { ...good.dsseEnvelope, payloadType: 'text/plain' } },
      { ...good, dsseEnvelope: { ...good.dsseEnvelope, signatures: [] } },
      { ...good, dsseEnvelope: { ...good.dsseEnvelope, payload: '!!' } },
      { ...good, verificationMaterial: {} },
      null,
    ];
    for (const c of cases) {
      writeFileSync(path.join(d, 'model.sig'), typeof c === 'string' ? c : JSON.stringify(c));
      const r = await verify(d, { publicKeyPem: key.publicPem });
      expect(r.status, JSON.stringify(c).slice(0, 80)).toBe('failed');
      for (const f of r.findings) expect(f.message).not.toContain('\n');
    }
    // duplicate keys are refused: two verifiers could read different payloads
    writeFileSync(path.join(d, 'model.sig'), JSON.stringify(good).replace('{"mediaType"', '{"mediaType":"x","mediaType"'));
    expect((await verify(d, { publicKeyPem: key.publicPem })).reasons.join(' ')).toMatch(/duplicate key/);
  });
});

describe('certificate method chains', () => {
  const day = 86_400_000;
  const k = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const root = k();
  const inter = k();
  const leaf = k();
  const t0 = Date.UTC(2025, 0, 1);
  const rootCert = makeCert({ subject: 'Test Root', issuer: 'Test Root', publicKey: root.publicKey, issuerKey: root.privateKey, notBefore: new Date(t0), notAfter: new Date(t0 + 3650 * day), ca: true });
  const interCert = makeCert({ subject: 'Test Intermediate', issuer: 'Test Root', publicKey: inter.publicKey, issuerKey: root.privateKey, notBefore: new Date(t0), notAfter: new Date(t0 + 1000 * day), ca: true, serial: 2 });
  const leafOf = (o: { notBefore?: number; eku?: string[] } = {}) =>
    makeCert({ subject: 'Model Publisher', issuer: 'Test Intermediate', publicKey: leaf.publicKey, issuerKey: inter.privateKey, notBefore: new Date(o.notBefore ?? t0 + 10 * day), notAfter: new Date((o.notBefore ?? t0 + 10 * day) + 365 * day), eku: o.eku ?? [CODE_SIGNING], serial: 3 });
  const signWith = (chain: Buffer[]) => {
    const d = modelDir();
    writeFileSync(path.join(d, 'model.sig'), signModelFolder(d, { privateKey: leaf.privateKey, curve: 'P-256' }, { certificateChain: chain }));
    return d;
  };

  it('leaf → intermediate → trusted root verifies', async () => {
    const c = await verify(signWith([leafOf(), interCert]), { trustCertPem: toPem(rootCert) });
    expect(c.status, c.reasons.join('; ')).toBe('verified');
  });

  it('an untrusted root fails', async () => {
    const other = k();
    const otherRoot = makeCert({ subject: 'Other Root', issuer: 'Other Root', publicKey: other.publicKey, issuerKey: other.privateKey, notBefore: new Date(t0), notAfter: new Date(t0 + 3650 * day), ca: true });
    const c = await verify(signWith([leafOf(), interCert]), { trustCertPem: toPem(otherRoot) });
    expect(c.status).toBe('failed');
    expect(ids(c)).toContain('model-signing.untrusted-chain');
  });

  it('a leaf issued after the intermediate expired fails (validity at signing time)', async () => {
    const c = await verify(signWith([leafOf({ notBefore: t0 + 1200 * day }), interCert]), { trustCertPem: toPem(rootCert) });
    expect(c.status).toBe('failed');
    expect(c.reasons.join(' ')).toMatch(/not valid at signing time/);
  });

  it('a leaf without codeSigning extended key usage fails', async () => {
    const c = await verify(signWith([leafOf({ eku: [SERVER_AUTH] }), interCert]), { trustCertPem: toPem(rootCert) });
    expect(c.status).toBe('failed');
    expect(c.reasons.join(' ')).toMatch(/codeSigning/);
  });

  it('a chain missing its intermediate fails', async () => {
    const c = await verify(signWith([leafOf()]), { trustCertPem: toPem(rootCert) });
    expect(c.status).toBe('failed');
  });
});

describe('keyless Sigstore bundles', () => {
  it('a self-made certificate with an empty subject and a made-up log entry fails against the public-good root, without crashing', async () => {
    const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const fulcio = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const cert = makeCert({ subject: '', issuer: 'sigstore-intermediate', publicKey: leaf.publicKey, issuerKey: fulcio.privateKey, notBefore: new Date(), notAfter: new Date(Date.now() + 600_000), eku: [CODE_SIGNING] });
    const d = modelDir();
    const sig = JSON.parse(signModelFolder(d, { privateKey: leaf.privateKey, curve: 'P-256' }));
    sig.verificationMaterial = { certificate: { rawBytes: cert.toString('base64') }, tlogEntries: [{ logIndex: '1', kindVersion: { kind: 'dsse', version: '0.0.1' } }] };
    writeFileSync(path.join(d, 'model.sig'), JSON.stringify(sig));
    const c = await verify(d);
    expect(c.method).toBe('keyless');
    expect(c.status).toBe('failed');
    expect(c.failed).toBe(true);
    expect(c.keyless?.valid).toBe(false);
    expect(c.reasons[0]).toMatch(/does not verify offline against Sigstore public-good/);
  });
});
