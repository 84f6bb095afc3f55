import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { AuditFolderOptions, SignatureOptions } from '../provenance/audit-folder.js';
import { detectHfSnapshot, snapshotPinName } from '../provenance/integrity/hf-cache.js';
import { defaultPinFile } from '../provenance/integrity/pins.js';
import { compileIdentity } from '../provenance/integrity/sigstore-keyless.js';
import type { IdentityPolicy } from '../provenance/integrity/sigstore-keyless.js';
import type { ProvenanceOptions } from '../provenance/integrity/training-provenance.js';
import { loadTrustPolicy, resolvePolicy } from '../provenance/trust-policy.js';
import type { ResolvedPolicy } from '../provenance/trust-policy.js';
import type { ProvenanceCliOptions } from './option-groups.js';
import { readPem } from './read-pem.js';

/**
 * The provenance options of the folder audit from the command line and the trust policy, shared by
 * `verify` and `scan`. Flags override the policy. Every input is read here, before any hashing: an
 * unreadable key, a bad pattern, an unusable trust root or policy fails in a second with one line.
 */

export type TrustAuditOptions = Required<Pick<AuditFolderOptions, 'pins' | 'expect'>> & Pick<AuditFolderOptions, 'signature' | 'training' | 'expectAgree' | 'policy'>;

const DIGEST = /^(sha256[:-])?[0-9a-fA-F]{64}$/;

/** `pinGiven`: whether `--pin` was on the command line (its default must not override the policy). */
export async function trustAuditOptions(dir: string, o: ProvenanceCliOptions, pinGiven: boolean): Promise<TrustAuditOptions> {
  let policy: ResolvedPolicy | undefined;
  if (o.trustPolicy !== undefined) {
    const loaded = await loadTrustPolicy(path.resolve(o.trustPolicy));
    const snap = await detectHfSnapshot(dir);
    const names = [o.pinName, snap ? snapshotPinName(snap) : undefined, await realpath(dir).catch(() => path.resolve(dir))].filter((n): n is string => n !== undefined);
    policy = resolvePolicy(loaded, names);
  }
  const r = policy?.rules ?? {};
  const fromPolicy = (p: string | undefined): string | undefined => (p === undefined || !policy ? undefined : policy.resolve(p));

  // ---- model signature
  const s: SignatureOptions = {};
  if (o.signature !== undefined) s.path = o.signature;
  const keyFile = o.key ?? fromPolicy(r.signature?.key);
  if (keyFile !== undefined) s.publicKeyPem = await readPem(keyFile, 'public key');
  const certFile = o.trustCert ?? fromPolicy(r.signature?.trustCert);
  if (certFile !== undefined) s.trustCertPem = await readPem(certFile, 'trusted certificate');
  const identities = identityOptions(o.identity, o.issuer, r.signature?.identities);
  if (identities) s.identity = identities;
  const trustRoot = o.trustRoot !== undefined ? path.resolve(o.trustRoot) : fromPolicy(r.signature?.trustRoot);
  if (trustRoot !== undefined) {
    const { loadTrustRoot } = await import('../provenance/integrity/trust-root.js');
    await loadTrustRoot(trustRoot);
    s.trustRootPath = trustRoot;
  }
  if (o.ignorePath?.length) s.ignorePaths = o.ignorePath;

  // ---- training provenance
  const p = r.provenance;
  const training: ProvenanceOptions = {};
  if (o.provenance?.length) training.files = o.provenance.map((f) => path.resolve(f));
  const provKey = o.provenanceKey ?? fromPolicy(p?.key);
  if (provKey !== undefined) training.publicKeyPem = await readPem(provKey, 'provenance public key');
  const provIds = identityOptions(o.provenanceIdentity, o.provenanceIssuer, p?.identities);
  if (provIds) training.identities = Array.isArray(provIds) ? provIds : [provIds as IdentityPolicy];
  if (trustRoot !== undefined) training.trustRootPath = trustRoot;
  if (o.requireProvenance || p?.required) training.require = true;
  const builder = o.builder ?? p?.builder;
  if (builder !== undefined) training.builder = checked(builder, '--builder');
  const repo = o.sourceRepo ?? p?.sourceRepository;
  if (repo !== undefined) training.sourceRepo = checked(repo, '--source-repo');
  if (p?.requireFields?.length) training.requireFields = p.requireFields;

  // ---- digests from several sources, and the pin
  const cliExpect = o.expect ?? [];
  const expect = cliExpect.length ? cliExpect : (r.expect?.sources ?? []).map((x) => (DIGEST.test(x) ? x : (fromPolicy(x) as string)));
  const out: TrustAuditOptions = {
    pins: {
      mode: pinGiven || r.pin?.mode === undefined ? o.pin : r.pin.mode,
      file: o.pins ?? fromPolicy(r.pin?.file) ?? defaultPinFile(),
      ...((o.pinName ?? r.pin?.name) !== undefined ? { name: (o.pinName ?? r.pin?.name) as string } : {}),
    },
    expect,
  };
  if (!cliExpect.length && r.expect?.agree !== undefined) out.expectAgree = r.expect.agree;
  if (Object.keys(s).length) out.signature = s;
  if (Object.keys(training).length) out.training = training;
  if (policy) out.policy = policy;
  return out;
}

/** A bad /pattern/ is a usage error now, not after hashing. */
function checked(spec: string, flag: string): string {
  compileIdentity(spec, flag);
  return spec;
}

/** `--identity`/`--issuer` win over the policy's list of allowed signers. */
function identityOptions(identity: string | undefined, issuer: string | undefined, fromPolicy: readonly IdentityPolicy[] | undefined): IdentityPolicy | readonly IdentityPolicy[] | undefined {
  if (identity !== undefined || issuer !== undefined) {
    if (identity !== undefined) compileIdentity(identity);
    return { ...(identity !== undefined ? { identity } : {}), ...(issuer !== undefined ? { issuer } : {}) };
  }
  if (fromPolicy?.length) {
    for (const p of fromPolicy) if (p.identity !== undefined) compileIdentity(p.identity, 'identity in the trust policy');
    return fromPolicy;
  }
  return undefined;
}
