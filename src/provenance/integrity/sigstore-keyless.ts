import { ValidationError, bundleFromJSON } from '@sigstore/bundle';
import { PolicyError, VerificationError, Verifier, toSignedEntity } from '@sigstore/verify';
import { UserError } from '../../errors.js';
import type { TrustRoot } from './trust-root.js';

/**
 * Offline verification of a Sigstore keyless bundle (a short-lived Fulcio certificate for an OIDC
 * identity, plus Rekor transparency-log entries and optional RFC 3161 timestamps) with sigstore-js's
 * `@sigstore/verify`, against a trust root file. The library checks, without network:
 * - the leaf certificate chains to a Fulcio CA of the trust root that was valid at signing time,
 *   and the leaf itself was valid then (signing time = the log's integrated time or a trusted
 *   timestamp, never the clock);
 * - the embedded signed certificate timestamp (SCT) from a trusted CT log;
 * - each Rekor entry: its signed entry timestamp, the Merkle inclusion proof up to a checkpoint
 *   signed by the log's key, and that the entry's body is this very envelope and signature;
 * - the DSSE signature with the certificate's key.
 *
 * The identity policy is ours, not the library's: its SAN match is an unanchored regular
 * expression (`alice@example.com` would accept `malice@example.com.evil`), so here a plain
 * `--identity` is an exact match and only `/…/` is a pattern, anchored at both ends.
 */

export interface IdentityPolicy {
  /** Exact certificate SAN (email, URI), or `/regex/` matched against the whole SAN. */
  identity?: string;
  /** Exact OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8, or .1.1 in older certificates). */
  issuer?: string;
}

export type KeylessFailure = 'invalid-bundle' | 'untrusted-chain' | 'transparency-log' | 'timestamp' | 'bad-signature';

export interface KeylessResult {
  ok: boolean;
  /** What failed, when `ok` is false. */
  failure?: KeylessFailure;
  error?: string;
  /** The certificate's SAN and OIDC issuer, as verified (set when ok). */
  identity?: string;
  issuer?: string;
  /** Signing time attested by the log or a timestamp authority, ISO. */
  signedAt?: string;
  /** Rekor entries: `<logIndex>@<integrated time ISO>`. */
  tlogEntries: string[];
  /** RFC 3161 timestamps present. */
  timestamps: number;
  /** The identity policy was given and holds. Undefined when no policy was given. */
  policyOk?: boolean;
  policyProblems: string[];
}

/** `--identity` as given: exact string, or `/…/` (optionally with flags) as an anchored pattern. */
export function compileIdentity(spec: string, flag = '--identity'): (san: string) => boolean {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(spec);
  if (!m) return (san) => san === spec;
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${m[1] as string})$`, (m[2] as string).replace(/[gy]/g, ''));
  } catch (err) {
    throw new UserError('E_USAGE', `${flag} ${spec}: not a valid regular expression (${(err as Error).message})`);
  }
  return (san) => re.test(san);
}

/** Check an identity policy against a verified signer; returns the problems (empty = holds). */
export function checkIdentity(policy: IdentityPolicy, identity: string | undefined, issuer: string | undefined): string[] {
  const problems: string[] = [];
  if (policy.identity !== undefined && !(identity !== undefined && compileIdentity(policy.identity)(identity))) {
    problems.push(`signed by ${identity ?? '(no identity)'}, not by ${policy.identity}`);
  }
  if (policy.issuer !== undefined && issuer !== policy.issuer) problems.push(`identity issued by ${issuer ?? '(no issuer)'}, not by ${policy.issuer}`);
  return problems;
}

const hasPolicy = (p: IdentityPolicy): boolean => p.identity !== undefined || p.issuer !== undefined;

/**
 * Verify `bundleJson` (an already strictly parsed Sigstore bundle) against `root`. Never throws
 * for bad bundles; a bad policy pattern is a UserError.
 */
export function verifyKeylessBundle(bundleJson: unknown, root: TrustRoot, policy: IdentityPolicy = {}): KeylessResult {
  const out: KeylessResult = { ok: false, tlogEntries: [], timestamps: 0, policyProblems: [] };
  let entity: ReturnType<typeof toSignedEntity>;
  try {
    entity = toSignedEntity(bundleFromJSON(bundleJson));
  } catch (err) {
    out.failure = 'invalid-bundle';
    out.error = `not a valid Sigstore bundle (${err instanceof ValidationError ? err.message : (err as Error).message})`;
    return out;
  }
  if (entity.key.$case !== 'certificate') {
    out.failure = 'invalid-bundle';
    out.error = 'bundle names a public key, not a Fulcio certificate: not a keyless signature';
    return out;
  }
  for (const e of entity.tlogEntries) out.tlogEntries.push(`${e.logIndex}@${new Date(Number(e.integratedTime) * 1000).toISOString().replace('.000Z', 'Z')}`);
  out.timestamps = entity.timestamps.filter((t) => t.$case === 'timestamp-authority').length;
  try {
    // Defaults: at least one log entry, one SCT and one timestamp (the log's counts).
    const signer = new Verifier(root.material).verify(entity);
    out.ok = true;
    if (signer.identity?.subjectAlternativeName !== undefined) out.identity = signer.identity.subjectAlternativeName;
    if (signer.identity?.extensions?.issuer !== undefined) out.issuer = signer.identity.extensions.issuer;
  } catch (err) {
    out.failure = failureOf(err);
    out.error = describe(err, out.failure);
    return out;
  }
  const times = entity.tlogEntries.map((e) => Number(e.integratedTime)).filter((t) => t > 0);
  if (times.length) out.signedAt = new Date(Math.min(...times) * 1000).toISOString().replace('.000Z', 'Z');
  if (hasPolicy(policy)) {
    out.policyProblems = checkIdentity(policy, out.identity, out.issuer);
    out.policyOk = out.policyProblems.length === 0;
  }
  return out;
}

function failureOf(err: unknown): KeylessFailure {
  const code = err instanceof VerificationError || err instanceof PolicyError ? String(err.code) : '';
  if (code.startsWith('CERTIFICATE') || code === 'PUBLIC_KEY_ERROR') return 'untrusted-chain';
  // The logged entry is of another envelope or signature: this one was altered after signing.
  if (code === 'TLOG_BODY_ERROR') return 'bad-signature';
  if (code.startsWith('TLOG') || code.startsWith('CHECKPOINT') || code.startsWith('INCLUSION')) return 'transparency-log';
  if (code.startsWith('TIMESTAMP')) return 'timestamp';
  if (code === 'SIGNATURE_ERROR') return 'bad-signature';
  return 'invalid-bundle';
}

const WHAT: Record<KeylessFailure, string> = {
  'invalid-bundle': 'the bundle is malformed',
  'untrusted-chain': 'the certificate does not chain to a Fulcio CA of the trust root valid at signing time (expired or foreign trust root, or a forged certificate)',
  'transparency-log': 'the transparency-log entry does not verify (inclusion proof, signed checkpoint or entry body do not match this signature)',
  timestamp: 'the signing time cannot be established from the log or a trusted timestamp',
  'bad-signature': 'the signature or payload differs from what was signed and logged: altered after signing',
};

function describe(err: unknown, f: KeylessFailure): string {
  const detail = err instanceof Error ? err.message : String(err);
  return `${WHAT[f]} (${detail})`;
}
