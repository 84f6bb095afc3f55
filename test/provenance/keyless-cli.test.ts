/**
 * Sigstore keyless model signatures, verified offline through the CLI, on the model_signing
 * project's own published keyless test folders (v1.0.1 and v1.1.0, signed as stefanb@us.ibm.com
 * via IBM's OIDC issuer into the public-good Rekor) and on tampered copies made here.
 * Before this worked, `verify` crashed on these folders with a TypeError (exit 3).
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const VECTORS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'integrity', 'vectors', 'model-signing');
const V101 = path.join(VECTORS, 'v1.0.1-sigstore');
const V110 = path.join(VECTORS, 'v1.1.0-sigstore');
const BUNDLED_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'trust-roots', 'sigstore-public-good', 'trusted_root.json');
const IDENTITY = ['--identity', 'stefanb@us.ibm.com', '--issuer', 'https://sigstore.verify.ibm.com/oauth2'];

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-keyless-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function copy(dir: string): string {
  const out = path.join(tmp, `copy-${n++}`);
  cpSync(dir, out, { recursive: true });
  return out;
}

function verifyJson(args: string[]) {
  const r = runCli(['verify', ...args, '--pin', 'off', '--json']);
  return { ...r, doc: r.stdout ? JSON.parse(r.stdout) : undefined };
}

/** Rewrite the bundle of a copied folder. */
function editBundle(dir: string, edit: (b: any) => void): void {
  const file = path.join(dir, 'model.sig');
  const b = JSON.parse(readFileSync(file, 'utf8'));
  edit(b);
  writeFileSync(file, JSON.stringify(b));
}

describe('verify: Sigstore keyless model signatures, offline', () => {
  it('a valid keyless signature without a signer policy is "signature valid, signer not pinned": a warning, not verified, exit 0', () => {
    const r = runCli(['verify', V110, '--pin', 'off']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/signature {2}unverified \(keyless, .*model\.sig\): signature valid, signer not pinned: signed by stefanb@us\.ibm\.com \(issuer https:\/\/sigstore\.verify\.ibm\.com\/oauth2\)/);
    expect(r.stdout).toMatch(/MEDIUM +model-signing\.signer-not-pinned/);
    expect(r.stdout).toMatch(/trust root Sigstore public-good, TUF root v15 .*refresh by 2026-11-20T13:58:18Z/);
  });

  it('verifies both upstream folders with the right identity and issuer (exit 0), and reports the log entry and trust root', () => {
    const a = verifyJson([V110, ...IDENTITY]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.doc.signature.status).toBe('verified');
    expect(a.doc.signature.method).toBe('keyless');
    expect(a.doc.signature.keyless).toMatchObject({ valid: true, signerPinned: true, policy: 'match', identity: 'stefanb@us.ibm.com', signedAt: '2025-10-10T02:12:20Z', timestamps: 1 });
    expect(a.doc.signature.keyless.tlogEntries).toEqual(['598151086@2025-10-10T02:12:20Z']);
    expect(a.doc.signature.keyless.trustRoot).toMatchObject({ source: 'bundled', sha256: '6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66' });
    // upstream's own test passes --ignore-paths ignore-me for v1.0.1, whose payload has no ignore_paths
    const b = verifyJson([V101, ...IDENTITY, '--ignore-path', 'ignore-me']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.doc.signature.status).toBe('verified');
    expect(b.doc.signature.keyless.tlogEntries).toEqual(['588939812@2025-10-07T15:33:48Z']);
  });

  it('an /anchored pattern/ identity matches the whole SAN only', () => {
    expect(verifyJson([V110, '--identity', '/[a-z]+@us\\.ibm\\.com/', '--issuer', 'https://sigstore.verify.ibm.com/oauth2']).doc.signature.status).toBe('verified');
    const partial = verifyJson([V110, '--identity', '/stefanb/', '--issuer', 'https://sigstore.verify.ibm.com/oauth2']);
    expect(partial.code).toBe(1);
    expect(partial.doc.findings.map((f: any) => f.id)).toContain('model-signing.wrong-signer');
  });

  it('fails with a wrong identity or a wrong issuer (exit 1, model-signing.wrong-signer)', () => {
    const who = runCli(['verify', V110, '--pin', 'off', '--identity', 'alice@example.com', '--issuer', 'https://sigstore.verify.ibm.com/oauth2']);
    expect(who.code).toBe(1);
    expect(who.stdout).toMatch(/HIGH +model-signing\.wrong-signer .*signed by stefanb@us\.ibm\.com, not by alice@example\.com/);
    expect(who.stdout).toMatch(/WRONG SIGNER/);
    const iss = verifyJson([V110, '--identity', 'stefanb@us.ibm.com', '--issuer', 'https://token.actions.githubusercontent.com']);
    expect(iss.code).toBe(1);
    expect(iss.doc.signature.keyless.policy).toBe('mismatch');
  });

  it('fails when a signed file was changed, naming the file (exit 1)', () => {
    const dir = copy(V110);
    writeFileSync(path.join(dir, 'signme-1'), 'tampered');
    const r = verifyJson([dir, ...IDENTITY]);
    expect(r.code).toBe(1);
    expect(r.doc.signature.status).toBe('failed');
    expect(r.doc.signature.keyless.valid).toBe(true); // the signature itself is fine; the folder is not what was signed
    expect(r.doc.findings).toContainEqual(expect.objectContaining({ id: 'model-signing.file-changed', file: path.join(dir, 'signme-1') }));
  });

  it('fails on a tampered bundle: altered payload, altered signature, altered inclusion proof (exit 1)', () => {
    const payload = copy(V110);
    editBundle(payload, (b) => {
      const st = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8'));
      st.predicate.resources[0].digest = '0'.repeat(64);
      b.dsseEnvelope.payload = Buffer.from(JSON.stringify(st)).toString('base64');
    });
    const p = verifyJson([payload, ...IDENTITY]);
    expect(p.code).toBe(1);
    expect(p.doc.findings.map((f: any) => f.id)).toContain('model-signing.bad-signature');
    expect(p.doc.signature.keyless.valid).toBe(false);

    const sig = copy(V110);
    editBundle(sig, (b) => {
      const raw = Buffer.from(b.dsseEnvelope.signatures[0].sig, 'base64');
      raw[raw.length - 1] = (raw[raw.length - 1] as number) ^ 1;
      b.dsseEnvelope.signatures[0].sig = raw.toString('base64');
    });
    expect(verifyJson([sig, ...IDENTITY]).code).toBe(1);

    const proof = copy(V110);
    editBundle(proof, (b) => {
      const h = b.verificationMaterial.tlogEntries[0].inclusionProof.hashes;
      h[0] = Buffer.alloc(32, 7).toString('base64');
    });
    const t = verifyJson([proof, ...IDENTITY]);
    expect(t.code).toBe(1);
    expect(t.doc.findings.map((f: any) => f.id)).toContain('model-signing.transparency-log');
  });

  it('fails when the signed checkpoint does not verify: its log signature altered, or its root hash swapped (exit 1)', () => {
    for (const edit of [
      (cp: string) => cp.replace(/(— rekor\.sigstore\.dev \S{8})(\S)/, (_m, head: string, c: string) => `${head}${c === 'A' ? 'B' : 'A'}`),
      (cp: string) => cp.replace(/\n([A-Za-z0-9+/]{43}=)\n/, `\n${Buffer.alloc(32, 9).toString('base64')}\n`),
    ]) {
      const dir = copy(V110);
      editBundle(dir, (b) => {
        const proof = b.verificationMaterial.tlogEntries[0].inclusionProof;
        const before = proof.checkpoint.envelope;
        proof.checkpoint.envelope = edit(before);
        expect(proof.checkpoint.envelope).not.toBe(before);
      });
      const r = verifyJson([dir, ...IDENTITY]);
      expect(r.code).toBe(1);
      expect(r.doc.findings.map((f: any) => f.id)).toContain('model-signing.transparency-log');
      expect(r.doc.signature.keyless.valid).toBe(false);
    }
  });

  it('fails against an expired trust root: a Fulcio CA whose validity ended before the signing time (exit 1)', () => {
    const root = JSON.parse(readFileSync(BUNDLED_ROOT, 'utf8'));
    for (const ca of root.certificateAuthorities) ca.validFor.end = '2024-01-01T00:00:00Z';
    const file = path.join(tmp, 'expired-root.json');
    writeFileSync(file, JSON.stringify(root));
    const r = verifyJson([V110, ...IDENTITY, '--trust-root', file]);
    expect(r.code).toBe(1);
    expect(r.doc.findings.map((f: any) => f.id)).toContain('model-signing.untrusted-chain');
    expect(r.doc.signature.keyless.trustRoot).toMatchObject({ source: 'file', file });
  });

  it('an unusable --trust-root is bad input: exit 2, one line naming the file', () => {
    const bad = path.join(tmp, 'not-a-root.json');
    writeFileSync(bad, '{"mediaType":"application/json"}');
    const out = path.join(tmp, 'out-bad-root');
    const r = runCli(['verify', V110, '--pin', 'off', '--trust-root', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${bad}: trust root has mediaType "application/json"`);
    expect(() => readdirSync(out)).toThrow();
  });

  it('without --ignore-path the v1.0.1 folder fails on its unsigned ignore-me file, as upstream does', () => {
    const r = verifyJson([V101, ...IDENTITY]);
    expect(r.code).toBe(1);
    expect(r.doc.findings).toContainEqual(expect.objectContaining({ id: 'model-signing.unsigned-file', file: path.join(V101, 'ignore-me') }));
  });

  it('--key does not apply to a keyless bundle (exit 1)', () => {
    const key = path.join(VECTORS, 'keys', 'signing-key-pub.pem');
    const r = verifyJson([V110, '--key', key]);
    expect(r.code).toBe(1);
    expect(r.doc.signature.reasons[0]).toMatch(/signed keylessly with Sigstore/);
  });
});
