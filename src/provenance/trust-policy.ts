import { createHash } from 'node:crypto';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { decodeUtf8, readSmallFile } from '../formats/untrusted-json.js';
import { PIN_MODES } from './integrity/pins.js';
import { PROVENANCE_FIELDS } from './integrity/training-provenance.js';

/**
 * One trust policy for nightly jobs (`trust-policy.yaml`): per model name or glob, which signers
 * are required, which training provenance, how many independent digest sources must agree, the
 * pin file and mode. Defined once: the zod schema below gives the types, and
 * `schemas/trust-policy.schema.json` is generated from it (tested current). Relative file names
 * in the policy are relative to the policy file. Command-line flags override what the policy says.
 *
 * ```yaml
 * version: 1
 * defaults:
 *   pin: { mode: strict }
 * models:
 *   - match: "acme/*@*"            # the pin name: a hub snapshot's org/name@rev, --pin-name, or the folder path
 *     signature:
 *       required: true
 *       identities: [{ identity: "release@acme.example", issuer: "https://accounts.google.com" }]
 *     provenance:
 *       required: true
 *       builder: "https://github.com/acme/train/.github/workflows/train.yml@refs/heads/main"
 *       sourceRepository: "https://github.com/acme/train"
 *       requireFields: [sourceCommit, config, datasets]
 *     expect:
 *       sources: ["sha256:…", "./acme-SHA256SUMS"]
 *       agree: 2
 * ```
 */

export const TRUST_POLICY_VERSION = 1;
const MAX_POLICY_BYTES = 1024 * 1024;

const Identity = z
  .object({
    identity: z.string().min(1).describe('certificate SAN, exact, or /pattern/ matching the whole SAN'),
    issuer: z.string().min(1).describe('OIDC issuer, exact'),
  })
  .strict();

const SignatureRule = z
  .object({
    required: z.boolean().optional().describe('the model signature must verify (key, certificate or pinned keyless signer)'),
    identities: z.array(Identity).min(1).optional().describe('keyless: any one of these signers'),
    key: z.string().optional().describe('PEM public key of the signer (key method)'),
    trustCert: z.string().optional().describe('PEM CA certificate (certificate method)'),
    trustRoot: z.string().optional().describe('Sigstore trusted_root.json (default: the bundled public-good root)'),
  })
  .strict();

const ProvenanceRule = z
  .object({
    required: z.boolean().optional().describe('a bound SLSA provenance attestation with a verified signature must be present'),
    builder: z.string().optional().describe('runDetails.builder.id, exact or /pattern/'),
    sourceRepository: z.string().optional().describe('the source repository, exact or /pattern/'),
    requireFields: z.array(z.enum(PROVENANCE_FIELDS)).optional().describe('fields the attestation must state (config and datasets with a digest)'),
    identities: z.array(Identity).min(1).optional().describe('keyless provenance: any one of these signers'),
    key: z.string().optional().describe('PEM public key of the provenance signer'),
  })
  .strict();

const ExpectRule = z
  .object({
    sources: z.array(z.string().min(1)).min(1).describe('digests, SHA256SUMS files or model.sig files from independent sources'),
    agree: z.number().int().min(1).optional().describe('how many sources must agree with the folder (default: all)'),
  })
  .strict();

const PinRule = z
  .object({
    file: z.string().optional(),
    mode: z.enum(PIN_MODES).optional(),
    name: z.string().optional().describe('the pin name (default: org/name@rev for a hub snapshot, else the folder path)'),
  })
  .strict();

const RuleBody = {
  signature: SignatureRule.optional(),
  provenance: ProvenanceRule.optional(),
  expect: ExpectRule.optional(),
  pin: PinRule.optional(),
};

export const TrustPolicySchema = z
  .object({
    version: z.literal(TRUST_POLICY_VERSION),
    defaults: z.object(RuleBody).strict().optional().describe('applies to every model; a matching entry of models overrides it section by section'),
    models: z
      .array(
        z
          .object({
            match: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).describe('glob(s) over the pin name and the folder path; * matches anything, ? one character'),
            ...RuleBody,
          })
          .strict(),
      )
      .optional()
      .describe('the first entry that matches is used'),
  })
  .strict()
  .describe('trigger-scan trust-policy.yaml');

export type TrustPolicy = z.infer<typeof TrustPolicySchema>;
export type PolicyRules = Omit<NonNullable<TrustPolicy['models']>[number], 'match'>;

export interface LoadedPolicy {
  file: string;
  sha256: string;
  policy: TrustPolicy;
}

export interface ResolvedPolicy {
  file: string;
  sha256: string;
  /** Which entry applied: `models[1] (acme/*@*)`, or `defaults` when none matched. */
  matched: string;
  rules: PolicyRules;
  /** Resolve a file named in the policy (relative to the policy file). */
  resolve(p: string): string;
}

export async function loadTrustPolicy(file: string): Promise<LoadedPolicy> {
  const bad = (problem: string): never => {
    throw new UserError('E_TRUST_POLICY', `${file}: ${problem}`, file);
  };
  const r = await readSmallFile(file, MAX_POLICY_BYTES);
  if (!r.ok) return bad(`trust policy ${r.error}`);
  const text = decodeUtf8(r.bytes) ?? bad('is not UTF-8');
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const err = doc.errors[0];
  if (err) bad(`YAML error: ${err.message.split('\n')[0]}`);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 0 });
  } catch (e) {
    return bad(`YAML problem: ${(e as Error).message.split('\n')[0]}`);
  }
  const parsed = TrustPolicySchema.safeParse(value);
  if (!parsed.success) {
    const iss = parsed.error.issues[0];
    const at = iss?.path.length ? iss.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(top level)';
    bad(`${at}: ${iss?.message ?? 'invalid'}`);
  }
  return { file, sha256: createHash('sha256').update(r.bytes).digest('hex'), policy: parsed.data as TrustPolicy };
}

function globToRegExp(glob: string): RegExp {
  const body = [...glob].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, 's');
}

/** The entry for a model known by `names` (pin name first, then the folder path). */
export function resolvePolicy(p: LoadedPolicy, names: readonly string[]): ResolvedPolicy {
  const models = p.policy.models ?? [];
  let matched = 'defaults';
  let entry: PolicyRules | undefined;
  for (const [i, m] of models.entries()) {
    const globs = Array.isArray(m.match) ? m.match : [m.match];
    if (globs.some((g) => names.some((n) => globToRegExp(g).test(n)))) {
      const { match: _match, ...rest } = m;
      entry = rest;
      matched = `models[${i}] (${globs.join(', ')})`;
      break;
    }
  }
  const d = p.policy.defaults ?? {};
  const rules: PolicyRules = {};
  for (const k of ['signature', 'provenance', 'expect', 'pin'] as const) {
    const v = entry?.[k] ?? d[k];
    if (v) Object.assign(rules, { [k]: { ...(d[k] ?? {}), ...v } });
  }
  const base = path.dirname(path.resolve(p.file));
  return { file: path.resolve(p.file), sha256: p.sha256, matched, rules, resolve: (f) => path.resolve(base, f) };
}

export type RuleOutcome = 'pass' | 'fail' | 'not-applicable';

export interface PolicyOutcome {
  rule: string;
  outcome: RuleOutcome;
  detail: string;
}

/** What a policy evaluation needs to know about the audit (kept narrow to avoid a cycle). */
export interface PolicyFacts {
  signature: { status: string; method: string; keylessPolicy?: string; reasons: string[] };
  training: { status: string; bound: boolean; policyOk: boolean; reasons: string[] };
  expect: { agreeing: number; total: number };
  pin: { status: string; failed: boolean; message: string };
}

/** Each rule of the resolved policy against what the audit found. */
export function evaluatePolicy(r: ResolvedPolicy, f: PolicyFacts): PolicyOutcome[] {
  const out: PolicyOutcome[] = [];
  const add = (rule: string, ok: boolean | undefined, detail: string): void => void out.push({ rule, outcome: ok === undefined ? 'not-applicable' : ok ? 'pass' : 'fail', detail });
  const s = r.rules.signature;
  if (s?.required) add('signature.required', f.signature.status === 'verified', `signature ${f.signature.status}${f.signature.reasons[0] ? `: ${f.signature.reasons[0]}` : ''}`);
  if (s?.identities) {
    add('signature.identities', f.signature.method === 'keyless' ? f.signature.keylessPolicy === 'match' : undefined, f.signature.method === 'keyless' ? `keyless signer ${f.signature.keylessPolicy ?? 'not checked'}` : `not a keyless signature (${f.signature.method})`);
  }
  const p = r.rules.provenance;
  if (p?.required) add('provenance.required', f.training.status === 'verified', `training provenance ${f.training.status}${f.training.reasons[0] ? `: ${f.training.reasons[0]}` : ''}`);
  for (const k of ['builder', 'sourceRepository', 'requireFields'] as const) {
    if (p?.[k] === undefined) continue;
    add(`provenance.${k}`, f.training.status === 'absent' ? false : f.training.policyOk && f.training.bound, f.training.status === 'absent' ? 'no training provenance' : f.training.policyOk ? 'as required' : 'see the provenance findings');
  }
  const e = r.rules.expect;
  if (e) {
    const need = e.agree ?? f.expect.total;
    add('expect.agree', f.expect.agreeing >= need, `${f.expect.agreeing} of ${f.expect.total} digest sources agree (need ${need})`);
  }
  const pin = r.rules.pin;
  if (pin?.mode !== undefined || pin?.name !== undefined || pin?.file !== undefined) add('pin', !f.pin.failed, `pin ${f.pin.status}: ${f.pin.message}`);
  return out;
}
