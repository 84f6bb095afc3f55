import { X509Certificate, createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { openRegularFile } from '../../util/regular-file.js';
import {
  HEX64,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_V1,
  SIGSTORE_BUNDLE_V03,
  decodeBase64Strict,
  isRecord,
  keyAlgorithm,
  keyHint,
  own,
  parsePublicKey,
  preAuthEncoding,
  verifyBytes,
} from './dsse.js';
import { finding } from '../../formats/finding.js';
import type { Finding, Severity } from '../../formats/finding.js';
import type { Manifest } from './manifest.js';
import { checkIdentity, verifyKeylessBundle } from './sigstore-keyless.js';
import type { IdentityPolicy, KeylessFailure } from './sigstore-keyless.js';
import { loadTrustRoot, staleRootWarning } from './trust-root.js';
import type { TrustRootInfo } from './trust-root.js';
import { decodeUtf8, parseUntrustedJson, readSmallFile } from '../../formats/untrusted-json.js';

/**
 * Offline verification of OpenSSF model signing (`model_signing` v1.x) signatures.
 *
 * The file (`model.sig`) nests three layers: a Sigstore bundle v0.3, whose `dsseEnvelope` signs
 * an in-toto Statement v1 with predicate `https://model_signing/signature/v1.0`. The predicate
 * lists every file (or file shard) with its digest; the subject's sha256 is the sha256 over the
 * raw resource digests in the listed order.
 *
 * Verified here, with node:crypto only:
 * - key method: the key hint (sha256 of the trusted key's SPKI PEM), the ECDSA signature over
 *   the DSSE PAE with the curve's hash (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512, DER);
 * - certificate method: the signature with the leaf certificate's key, each certificate issued
 *   and signed by the next, the last one issued by (or equal to) a certificate the user trusts,
 *   every certificate valid at the leaf's notBefore (model_signing's notion of signing time),
 *   intermediates and the anchor being CA certificates, and the leaf's extended key usage
 *   including codeSigning when it has the extension;
 * - the statement: `_type`, predicate type, exactly one subject, the root digest recomputed in the
 *   listed order, the serialization method;
 * - the files, compared as a set: changed, missing and extra (unsigned) files are all reported.
 *   Files under the signer's `ignore_paths` are left out of the comparison, as model_signing does,
 *   but still listed as present-and-unsigned information.
 *
 * - keyless method (Sigstore: Fulcio certificate + Rekor entries): everything `sigstore-keyless.ts`
 *   checks offline against the trust root file (certificate chain and SCT, log inclusion proof and
 *   signed checkpoint, signature), then the identity policy (`--identity`, `--issuer`). A valid
 *   keyless signature without a policy is `unverified` with "signature valid, signer not pinned":
 *   anyone can get a Fulcio certificate for their own identity, so it proves nothing until the
 *   expected signer is named.
 *
 * Not verified offline (reported, never silently passed):
 * - Certificates of the certificate method: revocation (CRL/OCSP), name and path-length constraints, the KeyUsage
 *   digitalSignature bit (Node does not expose it), and any trusted timestamp.
 */

export const MODEL_SIGNING_PREDICATE_V1 = 'https://model_signing/signature/v1.0';
export const MODEL_SIGNING_PREDICATE_COMPAT = 'https://model_signing/Digests/v0.1';
/** Always left out by model_signing, whatever the payload says. */
export const MODEL_SIGNING_DEFAULT_IGNORES: readonly string[] = ['.git', '.gitattributes', '.github', '.gitignore'];
const MAX_SIG_BYTES = 64 * 1024 * 1024;
const MAX_REPORTED_FILES = 200;
const CODE_SIGNING_EKU = '1.3.6.1.5.5.7.3.3';

export interface SignedResource {
  name: string;
  algorithm: string;
  digest: string;
}

export interface ModelSigningStatement {
  predicateType: string;
  subjectName: string;
  rootDigest: string;
  method: 'files' | 'shards';
  hashType: string;
  shardSize: number | undefined;
  ignorePaths: string[];
  resources: SignedResource[];
}

export type VerificationMaterial =
  | { kind: 'public-key'; hint: string | undefined; legacyRawKey: string | undefined; keyDetails: string | undefined }
  | { kind: 'certificate-chain'; certificates: X509Certificate[] }
  | { kind: 'keyless'; certificate: X509Certificate | undefined; tlogEntries: number }
  | { kind: 'none' };

export interface ParsedBundle {
  material: VerificationMaterial;
  payloadType: string;
  payload: Buffer;
  signature: Buffer;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Normalise a POSIX path the way PurePosixPath does: drop empty and `.` parts. */
export function normalisePosix(p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  return parts.length ? parts.join('/') : '.';
}

/** The structure of a Sigstore bundle (or a bare DSSE envelope). Nothing is verified here. */
export function parseSignatureBundle(v: unknown): Parsed<ParsedBundle> {
  if (!isRecord(v)) return { ok: false, error: 'not a JSON object' };
  let envelope: unknown = v;
  let material: VerificationMaterial = { kind: 'none' };
  if (own(v, 'mediaType') !== undefined || own(v, 'dsseEnvelope') !== undefined) {
    const mt = own(v, 'mediaType');
    if (mt !== SIGSTORE_BUNDLE_V03) return { ok: false, error: `mediaType ${JSON.stringify(mt)} is not ${SIGSTORE_BUNDLE_V03}` };
    envelope = own(v, 'dsseEnvelope');
    if (!isRecord(envelope)) return { ok: false, error: 'bundle has no dsseEnvelope (message signatures are not model signatures)' };
    const vm = own(v, 'verificationMaterial');
    if (!isRecord(vm)) return { ok: false, error: 'bundle has no verificationMaterial' };
    const tlog = own(vm, 'tlogEntries');
    const tlogCount = Array.isArray(tlog) ? tlog.length : 0;
    const pk = own(vm, 'publicKey');
    const chain = own(vm, 'x509CertificateChain');
    const cert = own(vm, 'certificate');
    if (isRecord(pk)) {
      const hint = own(pk, 'hint');
      const raw = own(pk, 'rawBytes');
      const details = own(pk, 'keyDetails');
      material = {
        kind: 'public-key',
        hint: typeof hint === 'string' && hint !== '' ? hint : undefined,
        legacyRawKey: typeof raw === 'string' ? raw : undefined,
        keyDetails: typeof details === 'string' ? details : undefined,
      };
    } else if (isRecord(chain)) {
      const list = own(chain, 'certificates');
      if (!Array.isArray(list) || list.length === 0) return { ok: false, error: 'x509CertificateChain has no certificates' };
      const certs: X509Certificate[] = [];
      for (const [i, c] of list.entries()) {
        const der = decodeBase64Strict(own(c, 'rawBytes'));
        const x = der && parseCert(der);
        if (!x) return { ok: false, error: `x509CertificateChain certificate ${i} is not a DER certificate in base64` };
        certs.push(x);
      }
      material = tlogCount > 0 ? { kind: 'keyless', certificate: certs[0], tlogEntries: tlogCount } : { kind: 'certificate-chain', certificates: certs };
    } else if (isRecord(cert)) {
      const der = decodeBase64Strict(own(cert, 'rawBytes'));
      const x = der && parseCert(der);
      if (!x) return { ok: false, error: 'certificate is not a DER certificate in base64' };
      material = { kind: 'keyless', certificate: x, tlogEntries: tlogCount };
    } else if (tlogCount > 0) {
      material = { kind: 'keyless', certificate: undefined, tlogEntries: tlogCount };
    }
  }
  const payloadType = own(envelope, 'payloadType');
  if (typeof payloadType !== 'string') return { ok: false, error: 'DSSE envelope has no payloadType' };
  const payload = decodeBase64Strict(own(envelope, 'payload'));
  if (!payload) return { ok: false, error: 'DSSE payload is not canonical base64' };
  const sigs = own(envelope, 'signatures');
  if (!Array.isArray(sigs) || sigs.length !== 1) return { ok: false, error: `DSSE envelope must carry exactly one signature, has ${Array.isArray(sigs) ? sigs.length : 'none'}` };
  const signature = decodeBase64Strict(own(sigs[0], 'sig'));
  if (!signature || signature.length === 0) return { ok: false, error: 'DSSE signature is not canonical base64' };
  return { ok: true, value: { material, payloadType, payload, signature } };
}

function parseCert(der: Buffer): X509Certificate | undefined {
  try {
    return new X509Certificate(der);
  } catch {
    return undefined;
  }
}

/** The model_signing statement inside a payload. Checks shape and the root digest, not files. */
export function parseModelSigningStatement(payload: Uint8Array): Parsed<ModelSigningStatement> {
  const text = decodeUtf8(payload);
  if (text === undefined) return { ok: false, error: 'payload is not UTF-8' };
  const parsed = parseUntrustedJson(text);
  if (!parsed.ok) return { ok: false, error: `payload is ${parsed.error}` };
  const st = parsed.value;
  if (own(st, '_type') !== IN_TOTO_STATEMENT_V1) return { ok: false, error: `payload _type ${JSON.stringify(own(st, '_type'))} is not ${IN_TOTO_STATEMENT_V1}` };
  const predicateType = own(st, 'predicateType');
  const subject = own(st, 'subject');
  if (!Array.isArray(subject)) return { ok: false, error: 'statement has no subject list' };

  if (predicateType === MODEL_SIGNING_PREDICATE_COMPAT) {
    // v0.2 payloads put one subject per file and have no root digest or serialization.
    const resources: SignedResource[] = [];
    for (const s of subject) {
      const name = own(s, 'name');
      const d = own(own(s, 'digest'), 'sha256');
      if (typeof name !== 'string' || typeof d !== 'string' || !HEX64.test(d)) return { ok: false, error: 'compat statement has a subject without name and sha256' };
      resources.push({ name, algorithm: 'sha256', digest: d });
    }
    return { ok: true, value: { predicateType, subjectName: '', rootDigest: rootOf(resources), method: 'files', hashType: 'sha256', shardSize: undefined, ignorePaths: [], resources } };
  }
  if (predicateType !== MODEL_SIGNING_PREDICATE_V1) return { ok: false, error: `predicateType ${JSON.stringify(predicateType)} is not ${MODEL_SIGNING_PREDICATE_V1}` };
  if (subject.length !== 1) return { ok: false, error: `statement must have exactly one subject, has ${subject.length}` };
  const subjectName = own(subject[0], 'name');
  const root = own(own(subject[0], 'digest'), 'sha256');
  if (typeof root !== 'string' || !HEX64.test(root)) return { ok: false, error: 'subject has no lowercase hex sha256 digest' };
  const predicate = own(st, 'predicate');
  const ser = own(predicate, 'serialization');
  const method = own(ser, 'method');
  const hashType = own(ser, 'hash_type');
  if (method !== 'files' && method !== 'shards') return { ok: false, error: `serialization method ${JSON.stringify(method)} is not files or shards` };
  if (typeof hashType !== 'string') return { ok: false, error: 'serialization has no hash_type' };
  const shardRaw = own(ser, 'shard_size');
  const shardSize = typeof shardRaw === 'number' && Number.isInteger(shardRaw) && shardRaw > 0 ? shardRaw : undefined;
  if (method === 'shards' && shardSize === undefined) return { ok: false, error: 'shards serialization has no positive integer shard_size' };
  const ig = own(ser, 'ignore_paths');
  const ignorePaths = Array.isArray(ig) ? ig.filter((x): x is string => typeof x === 'string') : [];
  const list = own(predicate, 'resources');
  if (!Array.isArray(list)) return { ok: false, error: 'predicate has no resources list' };
  const resources: SignedResource[] = [];
  for (const [i, r] of list.entries()) {
    const name = own(r, 'name');
    const algorithm = own(r, 'algorithm');
    const digest = own(r, 'digest');
    if (typeof name !== 'string' || typeof algorithm !== 'string' || typeof digest !== 'string' || !/^[0-9a-f]+$/.test(digest) || digest.length % 2 !== 0) {
      return { ok: false, error: `resource ${i} needs a name, an algorithm and a lowercase hex digest` };
    }
    resources.push({ name, algorithm, digest });
  }
  const recomputed = rootOf(resources);
  if (recomputed !== root) return { ok: false, error: `root digest ${root} does not match the listed resources (they hash to ${recomputed})` };
  return {
    ok: true,
    value: { predicateType, subjectName: typeof subjectName === 'string' ? subjectName : '', rootDigest: root, method, hashType, shardSize, ignorePaths, resources },
  };
}

/** sha256 over the raw resource digests, in the listed order (never re-sorted). */
export function rootOf(resources: readonly SignedResource[]): string {
  const h = createHash('sha256');
  for (const r of resources) h.update(Buffer.from(r.digest, 'hex'));
  return h.digest('hex');
}

// ---------------------------------------------------------------- comparing with the folder

export interface ResourceDiff {
  changed: { path: string; signed: string; actual: string }[];
  missing: string[];
  /** Present, not signed, not ignored by the signer. */
  extra: string[];
  /** Present, left out by the signer's ignore_paths. */
  ignoredPresent: string[];
}

const NODE_HASH: Record<string, string> = { sha256: 'sha256', blake2b: 'blake2b512' };

function underAny(p: string, prefixes: readonly string[]): boolean {
  return prefixes.some((q) => p === q || p.startsWith(`${q}/`));
}

async function hashRange(abs: string, alg: string, start?: number, endExclusive?: number): Promise<string> {
  const h = createHash(alg);
  if (endExclusive !== undefined && start !== undefined && endExclusive <= start) return h.digest('hex');
  const opts = start === undefined ? {} : { start, ...(endExclusive !== undefined ? { end: endExclusive - 1 } : {}) };
  // The file was a regular file when the manifest listed it; it may have been swapped for a FIFO since.
  const { fh } = await openRegularFile(abs, { noFollow: true });
  for await (const chunk of createReadStream('', { fd: fh, ...opts, highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Compare the signed resources with the folder, as sets. `skip` are extra relative paths to
 * leave out (the signature file itself when it sits in the folder).
 */
export async function compareSignedResources(manifest: Manifest, st: ModelSigningStatement, skip: readonly string[] = []): Promise<Parsed<ResourceDiff>> {
  const signerIgnores = st.ignorePaths.map(normalisePosix).filter((p) => p !== '.' && !p.startsWith('..'));
  const silent = [...MODEL_SIGNING_DEFAULT_IGNORES, ...skip.map(normalisePosix)];
  const diff: ResourceDiff = { changed: [], missing: [], extra: [], ignoredPresent: [] };
  const present = new Map<string, { sha256: string; size: number }>();
  for (const f of manifest.files) {
    if (underAny(f.path, silent)) continue;
    if (underAny(f.path, signerIgnores)) {
      diff.ignoredPresent.push(f.path);
      continue;
    }
    present.set(f.path, f);
  }
  const alg = NODE_HASH[st.hashType];
  if (!alg) return { ok: false, error: `hash_type ${JSON.stringify(st.hashType)} cannot be computed offline with node:crypto (supported: sha256, blake2b)` };
  // A snapshot's files are links the manifest validated; hash the blob each one names (no link is followed here).
  const snap = manifest.hfSnapshot;
  const blobOf = new Map(manifest.files.filter((f) => f.blob).map((f) => [f.path, (f.blob as { name: string }).name]));
  const abs = (p: string) => {
    const blob = snap ? blobOf.get(p) : undefined;
    return snap && blob ? path.join(snap.blobsDir, blob) : path.join(manifest.dir, ...p.split('/'));
  };
  const signed = new Set<string>();

  if (st.method === 'files') {
    for (const r of st.resources) {
      const name = normalisePosix(r.name);
      if (signed.has(name)) return { ok: false, error: `resource ${JSON.stringify(r.name)} is listed twice` };
      signed.add(name);
      const f = present.get(name);
      if (!f) {
        diff.missing.push(name);
        continue;
      }
      const actual = st.hashType === 'sha256' ? f.sha256 : await hashRange(abs(name), alg);
      if (actual !== r.digest) diff.changed.push({ path: name, signed: r.digest, actual });
    }
  } else {
    // Shards: `path:start:end`, end exclusive. Each file's shards must tile [0, size) exactly.
    const byFile = new Map<string, { start: number; end: number; digest: string }[]>();
    for (const r of st.resources) {
      const m = /^(.*):(\d+):(\d+)$/.exec(r.name);
      if (!m) return { ok: false, error: `shard resource ${JSON.stringify(r.name)} is not path:start:end` };
      const name = normalisePosix(m[1] as string);
      const start = Number(m[2]);
      const end = Number(m[3]);
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return { ok: false, error: `shard resource ${JSON.stringify(r.name)} has a bad range` };
      const list = byFile.get(name) ?? [];
      list.push({ start, end, digest: r.digest });
      byFile.set(name, list);
    }
    for (const [name, shards] of byFile) {
      signed.add(name);
      const f = present.get(name);
      if (!f) {
        diff.missing.push(name);
        continue;
      }
      shards.sort((a, b) => a.start - b.start);
      let at = 0;
      let mismatch: string | undefined;
      for (const s of shards) {
        if (s.start !== at) {
          mismatch = `shards do not tile the file at byte ${at}`;
          break;
        }
        at = s.end;
      }
      if (!mismatch && at !== f.size) mismatch = `signed shards cover ${at} bytes, file has ${f.size}`;
      if (!mismatch) {
        for (const s of shards) {
          const got = await hashRange(abs(name), alg, s.start, s.end);
          if (got !== s.digest) {
            mismatch = `shard ${s.start}:${s.end} differs`;
            break;
          }
        }
      }
      if (mismatch) diff.changed.push({ path: name, signed: mismatch, actual: f.sha256 });
    }
  }
  for (const p of present.keys()) if (!signed.has(p)) diff.extra.push(p);
  diff.missing.sort();
  diff.extra.sort();
  return { ok: true, value: diff };
}

// ---------------------------------------------------------------- verification

export type SignatureStatus = 'verified' | 'failed' | 'unverified' | 'absent';
export type SignatureMethod = 'key' | 'certificate' | 'keyless' | 'unknown';

export interface SignatureCheck {
  status: SignatureStatus;
  method: SignatureMethod;
  /** The signature file ('' when absent). */
  file: string;
  /** Why the status is not `verified`, one line each. */
  reasons: string[];
  findings: Finding[];
  /** What is known about the signer (hint, certificate subject/issuer, key algorithm). */
  signer: Record<string, string>;
  rootDigest?: string;
  diff: ResourceDiff;
  /** Whether this check must fail the run. */
  failed: boolean;
  /** Keyless bundles: what the trust root and transparency log established. */
  keyless?: KeylessSummary;
  /** sha256 of the signature file as read, so an attestation can name exactly what was checked. */
  sha256?: string;
}

export interface KeylessSummary {
  /** Signature, certificate chain, SCT and log entries all verified against the trust root. */
  valid: boolean;
  /** The certificate SAN and OIDC issuer (as claimed when not valid). */
  identity?: string;
  issuer?: string;
  signedAt?: string;
  tlogEntries: string[];
  timestamps: number;
  /** Both --identity and --issuer were given and hold. */
  signerPinned: boolean;
  /** The identity policy: none given, only one of identity/issuer, all given hold, or violated. */
  policy: 'none' | 'partial' | 'match' | 'mismatch';
  trustRoot: TrustRootInfo;
}

export interface VerifySignatureOptions {
  /** The signature file. */
  sigPath: string;
  /** PEM public key of the expected signer (key method). */
  publicKeyPem?: string;
  /** PEM certificate(s) trusted as the root of the chain (certificate method). */
  trustCertPem?: string;
  /** Keyless method: the expected signer (SAN, issuer), or a list of which any one will do. */
  identity?: IdentityPolicy | readonly IdentityPolicy[];
  /** Keyless method: a Sigstore trusted_root.json instead of the bundled public-good root. */
  trustRootPath?: string;
  /** Extra paths (relative POSIX) to leave out of the comparison, like model_signing's --ignore-paths. */
  ignorePaths?: readonly string[];
}

const EMPTY_DIFF: ResourceDiff = { changed: [], missing: [], extra: [], ignoredPresent: [] };

export function absentSignature(): SignatureCheck {
  return { status: 'absent', method: 'unknown', file: '', reasons: [], findings: [], signer: {}, diff: EMPTY_DIFF, failed: false };
}

/** Split a PEM bundle into certificates; returns an error text for anything unreadable. */
export function parseCertificates(pem: string): X509Certificate[] | { error: string } {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return { error: 'no PEM certificate found' };
  const out: X509Certificate[] = [];
  for (const b of blocks) {
    try {
      out.push(new X509Certificate(b));
    } catch (err) {
      return { error: `unreadable certificate (${(err as Error).message})` };
    }
  }
  return out;
}

/** A distinguished name on one line; Node leaves `subject` undefined when it is empty (Fulcio leaves). */
function dn(name: string | undefined): string {
  return name ? name.replace(/\n/g, ', ') : '(empty)';
}

/** Chain checks for the certificate method; returns problems (empty = anchored and valid). */
function checkChain(chain: X509Certificate[], anchors: X509Certificate[]): string[] {
  const problems: string[] = [];
  const leaf = chain[0] as X509Certificate;
  const at = new Date(leaf.validFrom).getTime();
  const validAt = (c: X509Certificate) => new Date(c.validFrom).getTime() <= at && at <= new Date(c.validTo).getTime();
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i] as X509Certificate;
    const parent = chain[i + 1] as X509Certificate;
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) problems.push(`certificate ${i} (${dn(child.subject)}) is not issued by certificate ${i + 1}`);
    if (!parent.ca) problems.push(`certificate ${i + 1} (${dn(parent.subject)}) is not a CA certificate`);
  }
  const last = chain[chain.length - 1] as X509Certificate;
  const direct = anchors.find((a) => a.fingerprint256 === last.fingerprint256);
  const issuer = direct ? undefined : anchors.find((a) => last.checkIssued(a) && last.verify(a.publicKey));
  if (!direct && !issuer) problems.push(`the chain does not lead to a trusted certificate (last issuer: ${dn(last.issuer)})`);
  if (issuer && !issuer.ca) problems.push(`trusted certificate ${dn(issuer.subject)} is not a CA certificate`);
  for (const [i, c] of chain.entries()) if (!validAt(c)) problems.push(`certificate ${i} was not valid at signing time ${leaf.validFrom} (valid ${c.validFrom} to ${c.validTo})`);
  if (issuer && !validAt(issuer)) problems.push(`trusted certificate was not valid at signing time ${leaf.validFrom}`);
  const eku = leaf.keyUsage;
  if (Array.isArray(eku) && eku.length > 0 && !eku.includes(CODE_SIGNING_EKU)) problems.push('leaf certificate extended key usage does not include codeSigning');
  return problems;
}

export async function verifyModelSignature(manifest: Manifest, opts: VerifySignatureOptions): Promise<SignatureCheck> {
  const file = opts.sigPath;
  const findings: Finding[] = [];
  const reasons: string[] = [];
  const signer: Record<string, string> = {};
  let failed = false;
  let authenticated = false;
  let keyless: KeylessSummary | undefined;
  let sigSha256: string | undefined;
  const add = (id: string, severity: Severity, message: string, detail?: Record<string, unknown>, at = file): void => {
    findings.push(finding(id, severity, at, message, detail));
  };
  const fail = (id: string, severity: Severity, reason: string, detail?: Record<string, unknown>): void => {
    failed = true;
    reasons.push(reason);
    add(id, severity, `${file}: ${reason}`, detail);
  };
  const result = (method: SignatureMethod, diff: ResourceDiff = EMPTY_DIFF, rootDigest?: string): SignatureCheck => {
    const status: SignatureStatus = failed ? 'failed' : authenticated ? 'verified' : 'unverified';
    const r: SignatureCheck = { status, method, file, reasons, findings, signer, diff, failed };
    if (rootDigest) r.rootDigest = rootDigest;
    if (keyless) r.keyless = keyless;
    if (sigSha256) r.sha256 = sigSha256;
    return r;
  };

  const read = await readSmallFile(file, MAX_SIG_BYTES);
  if (!read.ok) {
    fail('model-signing.invalid', 'high', `signature file ${read.error}`);
    return result('unknown');
  }
  sigSha256 = createHash('sha256').update(read.bytes).digest('hex');
  const text = decodeUtf8(read.bytes);
  const json = text === undefined ? { ok: false as const, error: 'not UTF-8' } : parseUntrustedJson(text);
  if (!json.ok) {
    fail('model-signing.invalid', 'high', `signature file is ${json.error}`);
    return result('unknown');
  }
  const bundle = parseSignatureBundle(json.value);
  if (!bundle.ok) {
    fail('model-signing.invalid', 'high', `not a model signature: ${bundle.error}`);
    return result('unknown');
  }
  const { material, payloadType, payload, signature } = bundle.value;
  const method: SignatureMethod =
    material.kind === 'public-key' ? 'key' : material.kind === 'certificate-chain' ? 'certificate' : material.kind === 'keyless' ? 'keyless' : 'unknown';
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    fail('model-signing.invalid', 'high', `payloadType ${JSON.stringify(payloadType)} is not ${IN_TOTO_PAYLOAD_TYPE}`);
    return result(method);
  }
  const pae = preAuthEncoding(payloadType, payload);

  let given: KeyObject | undefined;
  if (opts.publicKeyPem !== undefined) {
    const k = parsePublicKey(opts.publicKeyPem);
    if ('error' in k) {
      fail('model-signing.wrong-key', 'high', `the given public key is unreadable (${k.error})`);
      return result(method);
    }
    given = k;
    signer.givenKeyHint = keyHint(k);
  }
  let anchors: X509Certificate[] | undefined;
  if (opts.trustCertPem !== undefined) {
    const a = parseCertificates(opts.trustCertPem);
    if ('error' in a) {
      fail('model-signing.untrusted-chain', 'high', `the trusted certificate is unreadable (${a.error})`);
      return result(method);
    }
    anchors = a;
  }

  // 1. The signature, by method.
  const checkSig = (key: KeyObject, what: string): boolean => {
    const alg = keyAlgorithm(key);
    if ('error' in alg) {
      fail('model-signing.bad-signature', 'high', `${what}: ${alg.error}`);
      return false;
    }
    signer.algorithm = alg.alg;
    if (!verifyBytes(key, pae, signature)) {
      fail('model-signing.bad-signature', 'critical', `signature does not verify with ${what}: the payload or the signature was altered, or another key signed it`);
      return false;
    }
    return true;
  };

  if (material.kind === 'public-key') {
    if (material.hint) signer.keyHint = material.hint;
    if (material.legacyRawKey !== undefined) {
      // v1.0.x bundles embed the key itself. Never trust it: anyone can embed their own key.
      add('model-signing.legacy-key-material', 'medium', `${file}: v1.0-style signature embeds its public key; only the key you give is trusted (ask the publisher to re-sign with model_signing ≥ 1.1)`);
    }
    if (!given) {
      reasons.push('signed with a private key, but no public key was given (--key): signature not checked');
      add('model-signing.not-verified', 'info', `${file}: signed with a key${material.hint ? ` (hint ${material.hint.slice(0, 16)}…)` : ''}; give the publisher's public key to verify it`);
    } else if (material.hint && material.hint !== signer.givenKeyHint) {
      fail('model-signing.wrong-key', 'high', `signed by key ${material.hint.slice(0, 16)}…, not by the given key ${signer.givenKeyHint?.slice(0, 16)}…`, { hint: material.hint, given: signer.givenKeyHint });
    } else if (checkSig(given, 'the given public key')) {
      authenticated = true;
    }
  } else if (material.kind === 'certificate-chain') {
    const leaf = material.certificates[0] as X509Certificate;
    signer.certSubject = dn(leaf.subject);
    signer.certIssuer = dn(leaf.issuer);
    signer.certValidFrom = leaf.validFrom;
    signer.certFingerprint256 = leaf.fingerprint256;
    const sigOk = checkSig(leaf.publicKey, 'the leaf certificate key');
    if (sigOk) {
      if (anchors) {
        const problems = checkChain(material.certificates, anchors);
        for (const p of problems) fail('model-signing.untrusted-chain', 'high', p);
        if (problems.length === 0) authenticated = true;
      } else if (given) {
        if (keyHint(leaf.publicKey) === signer.givenKeyHint) authenticated = true;
        else fail('model-signing.wrong-key', 'high', 'the leaf certificate key is not the given public key');
      } else {
        reasons.push('certificate chain not checked: no trusted certificate given (--trust-cert)');
        add('model-signing.not-verified', 'info', `${file}: signed with a certificate (${signer.certSubject}); give the trusted CA certificate to verify the chain`);
      }
    }
  } else if (material.kind === 'keyless') {
    keyless = await checkKeyless(json.value, material.certificate, opts, signer, { add, fail, reasons });
    if (keyless?.valid && keyless.signerPinned) authenticated = true;
  } else {
    fail('model-signing.invalid', 'high', 'bundle has no verification material (no public key hint, certificate chain or certificate)');
  }

  // 2. The statement.
  const st = parseModelSigningStatement(payload);
  if (!st.ok) {
    fail('model-signing.invalid', 'high', st.error);
    return result(method);
  }
  if (st.value.predicateType === MODEL_SIGNING_PREDICATE_COMPAT) {
    add('model-signing.compat-format', 'medium', `${file}: pre-1.0 payload (${MODEL_SIGNING_PREDICATE_COMPAT}) lists files without a completeness guarantee`);
  }
  if (st.value.subjectName && st.value.subjectName !== path.basename(path.resolve(manifest.dir))) {
    signer.signedModelName = st.value.subjectName;
  }

  // 3. The files, as a set.
  const rel = path.relative(path.resolve(manifest.dir), path.resolve(file));
  const skip = [...(rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? [rel.split(path.sep).join('/')] : [])];
  const cmp = await compareSignedResources(manifest, { ...st.value, ignorePaths: [...st.value.ignorePaths, ...(opts.ignorePaths ?? [])] }, skip);
  if (!cmp.ok) {
    fail('model-signing.unsupported', 'high', cmp.error);
    return result(method, EMPTY_DIFF, st.value.rootDigest);
  }
  const d = cmp.value;
  const dirOf = (p: string) => path.join(manifest.dir, ...p.split('/'));
  for (const c of d.changed.slice(0, MAX_REPORTED_FILES)) {
    add('model-signing.file-changed', 'critical', `${dirOf(c.path)}: content differs from the signed digest in ${path.basename(file)}`, { path: c.path, signed: c.signed, actual: c.actual }, dirOf(c.path));
  }
  for (const m of d.missing.slice(0, MAX_REPORTED_FILES)) add('model-signing.file-missing', 'high', `${dirOf(m)}: signed in ${path.basename(file)} but missing from the folder`, { path: m }, dirOf(m));
  for (const e of d.extra.slice(0, MAX_REPORTED_FILES)) add('model-signing.unsigned-file', 'high', `${dirOf(e)}: present but not covered by the signature in ${path.basename(file)}`, { path: e }, dirOf(e));
  for (const i of d.ignoredPresent.slice(0, MAX_REPORTED_FILES)) {
    add('model-signing.ignored-file-present', 'info', `${dirOf(i)}: present but excluded from the signature by the signer's ignore_paths; it is scanned but not signed`, { path: i }, dirOf(i));
  }
  if (d.changed.length || d.missing.length || d.extra.length) {
    failed = true;
    const parts = [
      d.changed.length ? `${d.changed.length} changed (${d.changed[0]?.path})` : '',
      d.missing.length ? `${d.missing.length} missing (${d.missing[0]})` : '',
      d.extra.length ? `${d.extra.length} unsigned (${d.extra[0]})` : '',
    ].filter(Boolean);
    reasons.push(`files differ from the signature: ${parts.join(', ')}`);
  }
  return result(method, d, st.value.rootDigest);
}

const KEYLESS_FINDING: Record<KeylessFailure, { id: string; severity: Severity }> = {
  'invalid-bundle': { id: 'model-signing.invalid', severity: 'high' },
  'untrusted-chain': { id: 'model-signing.untrusted-chain', severity: 'high' },
  'transparency-log': { id: 'model-signing.transparency-log', severity: 'high' },
  timestamp: { id: 'model-signing.transparency-log', severity: 'high' },
  'bad-signature': { id: 'model-signing.bad-signature', severity: 'critical' },
};

interface Report {
  add: (id: string, severity: Severity, message: string, detail?: Record<string, unknown>) => void;
  fail: (id: string, severity: Severity, reason: string, detail?: Record<string, unknown>) => void;
  reasons: string[];
}

/** The keyless method: the bundle against the trust root, then the identity policy. */
async function checkKeyless(bundleJson: unknown, cert: X509Certificate | undefined, opts: VerifySignatureOptions, signer: Record<string, string>, r: Report): Promise<KeylessSummary | undefined> {
  const file = opts.sigPath;
  if (cert?.subjectAltName) signer.identity = cert.subjectAltName;
  signer.certIssuer = dn(cert?.issuer);
  if (opts.publicKeyPem !== undefined || opts.trustCertPem !== undefined) {
    r.fail('model-signing.wrong-key', 'high', 'signed keylessly with Sigstore, not with a key or private CA: --key/--trust-cert do not apply; name the signer with --identity and --issuer');
    return undefined;
  }
  const root = await loadTrustRoot(opts.trustRootPath);
  signer.trustRoot = `${root.info.name} (${root.info.version}, sha256 ${root.info.sha256.slice(0, 16)}…)`;
  // A list (from a trust policy) is any-of: the first entry the signer satisfies is the policy.
  const list: readonly IdentityPolicy[] = opts.identity === undefined ? [] : Array.isArray(opts.identity) ? opts.identity : [opts.identity as IdentityPolicy];
  const k0 = verifyKeylessBundle(bundleJson, root);
  const policy: IdentityPolicy = list.find((p) => checkIdentity(p, k0.identity, k0.issuer).length === 0) ?? list[0] ?? {};
  const k = verifyKeylessBundle(bundleJson, root, policy);
  // Pinned means both: an email or workflow identity means nothing without the issuer vouching for it.
  const complete = policy.identity !== undefined && policy.issuer !== undefined;
  const summary: KeylessSummary = { valid: k.ok, tlogEntries: k.tlogEntries, timestamps: k.timestamps, signerPinned: k.policyOk === true && complete, policy: k.policyOk === undefined ? 'none' : !k.policyOk ? 'mismatch' : complete ? 'match' : 'partial', trustRoot: root.info };
  if (k.identity ?? signer.identity) summary.identity = (k.identity ?? signer.identity) as string;
  if (k.issuer) summary.issuer = k.issuer;
  if (k.signedAt) summary.signedAt = k.signedAt;
  if (k.issuer) signer.oidcIssuer = k.issuer;
  if (k.signedAt) signer.signedAt = k.signedAt;
  if (root.info.stale) {
    r.add('sigstore.trust-root-stale', 'medium', staleRootWarning(root.info));
  }
  if (!k.ok) {
    const f = KEYLESS_FINDING[k.failure ?? 'invalid-bundle'];
    r.fail(f.id, f.severity, `Sigstore keyless signature does not verify offline against ${root.info.name}: ${k.error ?? 'unknown error'}`, { trustRoot: root.info.file });
    return summary;
  }
  const who = `${k.identity ?? '(no identity)'} (issuer ${k.issuer ?? 'unknown'})`;
  if (k.policyOk === false) {
    r.fail('model-signing.wrong-signer', 'high', `valid Sigstore signature by the wrong signer: ${list.length > 1 ? `${k.identity ?? '?'} (issuer ${k.issuer ?? '?'}) is none of the ${list.length} allowed signers` : k.policyProblems.join('; ')}`, { identity: k.identity, issuer: k.issuer, expected: list });
  } else if (!summary.signerPinned) {
    const missing = k.policyOk === undefined ? 'name the expected signer with --identity and --issuer' : `also pass ${policy.identity === undefined ? '--identity' : '--issuer'}`;
    r.reasons.push(`signature valid, signer not pinned: signed by ${who}; ${missing}`);
    r.add('model-signing.signer-not-pinned', 'medium', `${file}: signature valid, signer not pinned: signed by ${who} at ${k.signedAt ?? '?'}; anyone can sign keylessly as themselves, so ${missing}`, { identity: k.identity, issuer: k.issuer });
  }
  return summary;
}
