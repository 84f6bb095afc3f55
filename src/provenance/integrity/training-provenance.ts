import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.js';
import { finding } from '../../formats/finding.js';
import type { Finding, Severity } from '../../formats/finding.js';
import { decodeUtf8, parseUntrustedJson, readSmallFile } from '../../formats/untrusted-json.js';
import { IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_V1, decodeBase64Strict, isRecord, keyHint, own, parsePublicKey, preAuthEncoding, verifyBytes } from './dsse.js';
import { folderDigests } from './manifest.js';
import type { Manifest } from './manifest.js';
import { normalisePosix } from './model-signing.js';
import { checkIdentity, compileIdentity, verifyKeylessBundle } from './sigstore-keyless.js';
import type { IdentityPolicy } from './sigstore-keyless.js';
import { loadTrustRoot, staleRootWarning } from './trust-root.js';
import type { TrustRootInfo } from './trust-root.js';

/**
 * Training provenance: an in-toto Statement v1 with the SLSA provenance v1 predicate, in a DSSE
 * envelope (key-signed) or a Sigstore bundle (keyless or key), whose subjects are the model's
 * files or its root digest. It answers "what produced these weights": source repository and
 * commit, training configuration and its digest, dataset snapshots, the builder, when.
 *
 * Checked offline:
 * - the signature: keyless bundles as `sigstore-keyless.ts` does (trust root, log, identity
 *   policy `--provenance-identity/--provenance-issuer`); DSSE envelopes and key bundles with
 *   `--provenance-key` (ECDSA by curve or Ed25519 over the PAE). Without a key or identity the
 *   signature is `unverified`, never trusted;
 * - the binding: every subject against the folder. A subject whose sha256 is the folder's root
 *   digest or dirHash1 (with or without the attestation files in it) binds the whole folder; a subject named like a folder file must have its
 *   digest (sha256 or sha512); one found only by content is "renamed". Nothing matching means the
 *   attestation is about something else;
 * - the policy: `--require-provenance` (a bound attestation with a verified signature),
 *   `--builder` and `--source-repo` (exact, or `/anchored pattern/`), required fields.
 *
 * Attestations are found by their bytes: any top-level file of the folder up to 4 MiB that is a
 * JSON (or JSON-lines) DSSE envelope or Sigstore bundle carrying this predicate, plus the files
 * given with `--provenance`.
 */

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
const MAX_ATTESTATION_BYTES = 4 * 1024 * 1024;
const SIGSTORE_BUNDLE = /^application\/vnd\.dev\.sigstore\.bundle(\.v0\.3)?\+json(;version=0\.[123])?$/;
const WEIGHTS = /\.(safetensors|onnx|onnx_data|bin|pt|pth|ckpt|gguf|h5|msgpack|npz|pb|tflite)$/i;
const MAX_SHOWN = 50;

export type ProvenanceField = 'sourceCommit' | 'config' | 'datasets' | 'builder';
export const PROVENANCE_FIELDS: readonly ProvenanceField[] = ['sourceCommit', 'config', 'datasets', 'builder'];

export interface ProvenanceOptions {
  /** Attestation files given on the command line (absolute or relative to cwd). */
  files?: readonly string[] | undefined;
  /** Key of the provenance signer (DSSE envelopes and key bundles). */
  publicKeyPem?: string | undefined;
  /** Keyless provenance: any one of these signers is accepted. */
  identities?: readonly IdentityPolicy[] | undefined;
  trustRootPath?: string | undefined;
  /** A bound attestation with a verified signature must be present. */
  require?: boolean | undefined;
  /** Expected `runDetails.builder.id` (exact or /regex/). */
  builder?: string | undefined;
  /** Expected source repository (exact or /regex/). */
  sourceRepo?: string | undefined;
  /** Fields the attestation must state. */
  requireFields?: readonly ProvenanceField[] | undefined;
  cwd?: string | undefined;
}

export interface Material {
  name?: string;
  uri?: string;
  /** `alg:hex` per digest entry. */
  digest: string[];
}

export type SubjectMatch = 'root' | 'dirHash1' | 'file' | 'renamed' | 'mismatch' | 'missing';

export interface AttestedSubject {
  name: string;
  digest: string[];
  match: SubjectMatch;
  /** The folder file it matched (or was compared with). */
  path?: string;
}

export interface ProvenanceAttestation {
  file: string;
  /** sha256 of the attestation file, so a report or attestation can point at exactly it. */
  sha256: string;
  format: 'dsse' | 'sigstore-bundle';
  signature: {
    status: 'verified' | 'failed' | 'unverified';
    method: 'key' | 'keyless';
    reasons: string[];
    identity?: string;
    issuer?: string;
    signedAt?: string;
    keyid?: string;
    trustRoot?: TrustRootInfo;
  };
  buildType?: string;
  builder?: string;
  source: { repository?: string; ref?: string; commit?: string };
  config: Material[];
  datasets: Material[];
  /** Other resolved dependencies (base models, tools). */
  materials: Material[];
  /** `externalParameters.hyperparameters` flattened to `key=value` strings. */
  hyperparameters: string[];
  invocationId?: string;
  startedOn?: string;
  finishedOn?: string;
  subjects: AttestedSubject[];
  /** A subject matched the folder and none contradicted it. */
  bound: boolean;
  /** Folder files no subject covers (empty when the root digest or dirHash1 is attested). */
  uncovered: string[];
  /** Policy problems of this attestation (builder, repository, fields). */
  policyProblems: string[];
}

export interface TrainingProvenanceCheck {
  status: 'verified' | 'failed' | 'unverified' | 'absent';
  attestations: ProvenanceAttestation[];
  /** One line each: why the status is not verified, or "no training provenance". */
  reasons: string[];
  findings: Finding[];
  failed: boolean;
  /** The provenance files, relative to the folder, so digests and pins can leave them out if asked. */
  filesInFolder: string[];
}

type Candidate = { file: string; bytes: Buffer; value: unknown; explicit: boolean };

function digestList(d: unknown): string[] {
  if (!isRecord(d)) return [];
  return Object.entries(d)
    .filter(([, v]) => typeof v === 'string')
    .map(([k, v]) => `${k}:${(v as string).toLowerCase()}`);
}

function material(r: unknown): Material | undefined {
  if (!isRecord(r)) return undefined;
  const m: Material = { digest: digestList(own(r, 'digest')) };
  const name = own(r, 'name');
  const uri = own(r, 'uri');
  if (typeof name === 'string') m.name = name;
  if (typeof uri === 'string') m.uri = uri;
  return m.name === undefined && m.uri === undefined && !m.digest.length ? undefined : m;
}

function kindOf(r: unknown, m: Material): 'dataset' | 'config' | 'source' | 'other' {
  const note = own(own(r, 'annotations'), 'kind');
  if (note === 'dataset' || note === 'config' || note === 'source') return note;
  const text = `${m.name ?? ''} ${m.uri ?? ''}`.toLowerCase();
  if (/(^|[/:_\s-])datasets?([/:_\s-]|$)/.test(text)) return 'dataset';
  if (/config|\.ya?ml(\s|$)|\.toml(\s|$)|hyperparam/.test(text)) return 'config';
  if (m.digest.some((d) => /^gitcommit:/i.test(d)) || (m.uri ?? '').startsWith('git+')) return 'source';
  return 'other';
}

/** `git+https://host/org/repo@refs/heads/main` → repository and ref. */
function splitGitUri(uri: string): { repository: string; ref?: string } {
  const u = uri.replace(/^git\+/, '');
  const at = u.lastIndexOf('@');
  return at > u.indexOf('://') + 3 ? { repository: u.slice(0, at), ref: u.slice(at + 1) } : { repository: u };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The parts of a SLSA v1 predicate a reader of a model report needs. */
export function describePredicate(pred: unknown): Pick<ProvenanceAttestation, 'buildType' | 'builder' | 'source' | 'config' | 'datasets' | 'materials' | 'hyperparameters' | 'invocationId' | 'startedOn' | 'finishedOn'> {
  const bd = own(pred, 'buildDefinition');
  const rd = own(pred, 'runDetails');
  const ext = own(bd, 'externalParameters');
  const meta = own(rd, 'metadata');
  const out: ReturnType<typeof describePredicate> = { source: {}, config: [], datasets: [], materials: [], hyperparameters: [] };
  const bt = str(own(bd, 'buildType'));
  if (bt) out.buildType = bt;
  const builder = str(own(own(rd, 'builder'), 'id'));
  if (builder) out.builder = builder;
  for (const [k, key] of [['invocationId', 'invocationId'], ['startedOn', 'startedOn'], ['finishedOn', 'finishedOn']] as const) {
    const v = str(own(meta, key));
    if (v) out[k] = v;
  }
  // Source: GitHub's workflow parameters, a `source` descriptor, or the first git dependency.
  const wf = own(ext, 'workflow');
  const wfRepo = str(own(wf, 'repository'));
  if (wfRepo) out.source.repository = wfRepo;
  const wfRef = str(own(wf, 'ref'));
  if (wfRef) out.source.ref = wfRef;
  const src = own(ext, 'source');
  const srcM = typeof src === 'string' ? { uri: src, digest: [] } : material(src);
  const deps = own(bd, 'resolvedDependencies');
  const list = Array.isArray(deps) ? deps : [];
  const setSource = (m: Material): void => {
    if (m.uri && !out.source.repository) Object.assign(out.source, splitGitUri(m.uri));
    else if (m.uri && !out.source.ref) {
      const s = splitGitUri(m.uri);
      if (s.repository === out.source.repository && s.ref) out.source.ref = s.ref;
    }
    const c = m.digest.find((d) => /^(gitcommit|sha1):/i.test(d));
    if (c && !out.source.commit) out.source.commit = c.slice(c.indexOf(':') + 1);
  };
  if (srcM) setSource(srcM);
  const cfg = material(own(ext, 'config')) ?? material(own(ext, 'trainingConfig'));
  if (cfg) out.config.push(cfg);
  for (const r of list) {
    const m = material(r);
    if (!m) continue;
    const k = kindOf(r, m);
    if (k === 'dataset') out.datasets.push(m);
    else if (k === 'config') {
      if (!out.config.some((c) => c.uri === m.uri && c.name === m.name)) out.config.push(m);
    } else if (k === 'source') setSource(m);
    else out.materials.push(m);
  }
  const hp = own(ext, 'hyperparameters');
  if (isRecord(hp)) {
    for (const [k, v] of Object.entries(hp).slice(0, MAX_SHOWN)) out.hyperparameters.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return out;
}

/** Is this parsed JSON a DSSE envelope or Sigstore bundle whose statement has the SLSA v1 predicate? */
function envelopeOf(v: unknown): { format: 'dsse' | 'sigstore-bundle'; envelope: unknown } | undefined {
  if (!isRecord(v)) return undefined;
  const mt = own(v, 'mediaType');
  if (typeof mt === 'string' && SIGSTORE_BUNDLE.test(mt) && isRecord(own(v, 'dsseEnvelope'))) return { format: 'sigstore-bundle', envelope: own(v, 'dsseEnvelope') };
  if (typeof own(v, 'payloadType') === 'string' && Array.isArray(own(v, 'signatures'))) return { format: 'dsse', envelope: v };
  return undefined;
}

function statementOf(envelope: unknown): { payload: Buffer; statement: unknown } | undefined {
  if (own(envelope, 'payloadType') !== IN_TOTO_PAYLOAD_TYPE) return undefined;
  const payload = decodeBase64Strict(own(envelope, 'payload'));
  if (!payload) return undefined;
  const text = decodeUtf8(payload);
  const json = text === undefined ? undefined : parseUntrustedJson(text);
  if (!json?.ok || own(json.value, '_type') !== IN_TOTO_STATEMENT_V1) return undefined;
  return { payload, statement: json.value };
}

/** Whether a candidate file holds SLSA provenance, by its bytes. JSON-lines files give one per line. */
function parseCandidates(file: string, bytes: Buffer, explicit: boolean): Candidate[] {
  const text = decodeUtf8(bytes);
  if (text === undefined || !/^\s*\{/.test(text)) return [];
  const whole = parseUntrustedJson(text);
  const values = whole.ok ? [whole.value] : text.split('\n').filter((l) => l.trim()).map((l) => parseUntrustedJson(l)).filter((r) => r.ok).map((r) => (r as { value: unknown }).value);
  return values.filter((v) => {
    const e = envelopeOf(v);
    const s = e && statementOf(e.envelope);
    return s !== undefined && own(s.statement, 'predicateType') === SLSA_PROVENANCE_V1;
  }).map((value) => ({ file, bytes, value, explicit }));
}

async function sha512Of(abs: string): Promise<string> {
  const h = createHash('sha512');
  for await (const c of createReadStream(abs, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

async function bindSubjects(statement: unknown, manifest: Manifest, skip: ReadonlySet<string>): Promise<{ subjects: AttestedSubject[]; bound: boolean; uncovered: string[] }> {
  const byPath = new Map(manifest.files.map((f) => [f.path, f]));
  const byDigest = new Map(manifest.files.map((f) => [f.sha256, f.path]));
  // An attestation shipped inside the folder cannot be part of the digest it states: a folder-wide
  // subject is compared with the folder as it is and with the folder without its attestation files.
  const wholes = [{ rootDigest: manifest.rootDigest, directoryDigest: manifest.directoryDigest }];
  if (skip.size) wholes.push(folderDigests(manifest.files.filter((f) => !skip.has(f.path))));
  const subjects: AttestedSubject[] = [];
  const covered = new Set<string>();
  let whole = false;
  const list = own(statement, 'subject');
  for (const s of Array.isArray(list) ? list : []) {
    const name = str(own(s, 'name')) ?? '';
    const d = own(s, 'digest');
    const digest = digestList(d);
    const sha256 = str(own(d, 'sha256'))?.toLowerCase();
    const sha512 = str(own(d, 'sha512'))?.toLowerCase();
    const dirHash1 = str(own(d, 'dirHash1'))?.toLowerCase();
    const sub: AttestedSubject = { name, digest, match: 'missing' };
    const rel = normalisePosix(name);
    const f = byPath.get(rel);
    if (wholes.some((w) => sha256 === w.rootDigest)) sub.match = 'root';
    else if (wholes.some((w) => sha256 === w.directoryDigest || dirHash1 === w.directoryDigest)) sub.match = 'dirHash1';
    else if (f) {
      sub.path = f.path;
      const ok = sha256 !== undefined ? sha256 === f.sha256 : sha512 !== undefined ? sha512 === (await sha512Of(path.join(manifest.dir, ...f.path.split('/')))) : false;
      sub.match = ok ? 'file' : 'mismatch';
    } else if (sha256 !== undefined && byDigest.has(sha256)) {
      sub.match = 'renamed';
      sub.path = byDigest.get(sha256) as string;
    }
    if (sub.match === 'root' || sub.match === 'dirHash1') whole = true;
    if ((sub.match === 'file' || sub.match === 'renamed') && sub.path) covered.add(sub.path);
    subjects.push(sub);
  }
  const bound = subjects.some((s) => s.match !== 'mismatch' && s.match !== 'missing') && !subjects.some((s) => s.match === 'mismatch');
  const uncovered = whole ? [] : manifest.files.map((f) => f.path).filter((p) => !covered.has(p) && !skip.has(p));
  return { subjects, bound, uncovered };
}

function matches(spec: string, value: string | undefined): boolean {
  return value !== undefined && compileIdentity(spec)(value);
}

/** Verify the attestations of a folder. Bad input given on the command line is a UserError. */
export async function checkTrainingProvenance(manifest: Manifest, opts: ProvenanceOptions = {}): Promise<TrainingProvenanceCheck> {
  const findings: Finding[] = [];
  const reasons: string[] = [];
  let failed = false;
  const fail = (id: string, severity: Severity, file: string, reason: string, detail?: Record<string, unknown>): void => {
    failed = true;
    reasons.push(reason);
    findings.push(finding(id, severity, file, `${file}: ${reason}`, detail));
  };

  // ---- find them: given files first, then top-level folder files by their bytes
  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  for (const f of opts.files ?? []) {
    const abs = path.resolve(opts.cwd ?? process.cwd(), f);
    const r = await readSmallFile(abs, MAX_ATTESTATION_BYTES);
    if (!r.ok) throw new UserError('E_PROVENANCE_READ', `${f}: provenance attestation ${r.error}`, f);
    const c = parseCandidates(abs, r.bytes, true);
    if (!c.length) throw new UserError('E_PROVENANCE_READ', `${f}: not an in-toto SLSA provenance v1 attestation (a DSSE envelope or Sigstore bundle of an in-toto statement with predicateType ${SLSA_PROVENANCE_V1})`, f);
    candidates.push(...c);
    seen.add(abs);
  }
  for (const e of manifest.files) {
    if (e.path.includes('/') || e.size > MAX_ATTESTATION_BYTES || e.size < 2) continue;
    const abs = path.join(manifest.dir, e.path);
    if (seen.has(abs)) continue;
    const r = await readSmallFile(abs, MAX_ATTESTATION_BYTES);
    if (r.ok) candidates.push(...parseCandidates(abs, r.bytes, false));
  }
  const filesInFolder = [...new Set(candidates.map((c) => path.relative(manifest.dir, c.file)).filter((p) => !p.startsWith('..') && !path.isAbsolute(p)).map((p) => p.split(path.sep).join('/')))];

  // ---- check each
  const attestations: ProvenanceAttestation[] = [];
  const parsedKey = opts.publicKeyPem !== undefined ? parsePublicKey(opts.publicKeyPem) : undefined;
  if (parsedKey && 'error' in parsedKey) throw new UserError('E_PEM_READ', `--provenance-key: unreadable public key (${parsedKey.error})`);
  const key: KeyObject | undefined = parsedKey;
  let staleWarned = false;
  for (const c of candidates) {
    const e = envelopeOf(c.value) as { format: 'dsse' | 'sigstore-bundle'; envelope: unknown };
    const { payload, statement } = statementOf(e.envelope) as { payload: Buffer; statement: unknown };
    const keyless = e.format === 'sigstore-bundle' && isRecord(own(own(c.value, 'verificationMaterial'), 'certificate'))
      || (e.format === 'sigstore-bundle' && isRecord(own(own(c.value, 'verificationMaterial'), 'x509CertificateChain')));
    const sig: ProvenanceAttestation['signature'] = { status: 'unverified', method: keyless ? 'keyless' : 'key', reasons: [] };
    if (keyless) {
      const root = await loadTrustRoot(opts.trustRootPath);
      sig.trustRoot = root.info;
      if (root.info.stale && !staleWarned) {
        staleWarned = true;
        findings.push(finding('sigstore.trust-root-stale', 'medium', root.info.file, staleRootWarning(root.info)));
      }
      const policies = opts.identities ?? [];
      const k = verifyKeylessBundle(c.value, root);
      if (k.identity) sig.identity = k.identity;
      if (k.issuer) sig.issuer = k.issuer;
      if (k.signedAt) sig.signedAt = k.signedAt;
      if (!k.ok) {
        sig.status = 'failed';
        sig.reasons.push(`keyless signature does not verify offline against ${root.info.name}: ${k.error ?? ''}`);
      } else if (!policies.length) {
        sig.reasons.push(`signature valid, signer not pinned: signed by ${k.identity ?? '?'} (issuer ${k.issuer ?? '?'}); pass --provenance-identity and --provenance-issuer`);
      } else {
        const ok = policies.some((p) => p.identity !== undefined && p.issuer !== undefined && checkIdentity(p, k.identity, k.issuer).length === 0);
        if (ok) sig.status = 'verified';
        else {
          sig.status = 'failed';
          sig.reasons.push(`valid signature by the wrong signer: ${k.identity ?? '?'} (issuer ${k.issuer ?? '?'}) is none of ${policies.map((p) => `${p.identity ?? '*'} (${p.issuer ?? '*'})`).join(', ')}`);
        }
      }
    } else {
      const sigs = own(e.envelope, 'signatures');
      const list = Array.isArray(sigs) ? sigs : [];
      const kid = str(own(list[0], 'keyid'));
      if (kid) sig.keyid = kid;
      if (!key) sig.reasons.push('signed with a key, but no --provenance-key was given: signature not checked');
      else {
        const pae = preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload);
        const ok = list.some((s) => {
          const b = decodeBase64Strict(own(s, 'sig'));
          return b !== undefined && verifyBytes(key, pae, b);
        });
        sig.keyid = keyHint(key);
        if (ok) sig.status = 'verified';
        else {
          sig.status = 'failed';
          sig.reasons.push('signature does not verify with --provenance-key: the statement was altered, or another key signed it');
        }
      }
    }
    const skip = new Set(filesInFolder);
    const binding = await bindSubjects(statement, manifest, skip);
    const desc = describePredicate(own(statement, 'predicate'));
    const a: ProvenanceAttestation = { file: c.file, sha256: createHash('sha256').update(c.bytes).digest('hex'), format: e.format, signature: sig, ...desc, ...binding, policyProblems: [] };
    if (opts.builder !== undefined && !matches(opts.builder, a.builder)) a.policyProblems.push(`builder ${a.builder ?? '(none)'} is not ${opts.builder}`);
    if (opts.sourceRepo !== undefined && !matches(opts.sourceRepo, a.source.repository)) a.policyProblems.push(`source repository ${a.source.repository ?? '(none)'} is not ${opts.sourceRepo}`);
    for (const f of opts.requireFields ?? []) {
      const has = f === 'sourceCommit' ? a.source.commit !== undefined : f === 'config' ? a.config.some((m) => m.digest.length > 0) : f === 'datasets' ? a.datasets.some((m) => m.digest.length > 0) : a.builder !== undefined;
      if (!has) a.policyProblems.push(`required field ${f} is not stated${f === 'config' || f === 'datasets' ? ' with a digest' : ''}`);
    }
    attestations.push(a);

    // ---- findings for this one
    const at = a.file;
    if (sig.status === 'failed') fail(sig.method === 'keyless' && /wrong signer/.test(sig.reasons[0] ?? '') ? 'provenance.wrong-signer' : 'provenance.bad-signature', 'critical', at, sig.reasons[0] ?? 'signature failed');
    else if (sig.status === 'unverified') findings.push(finding('provenance.signature-not-verified', 'medium', at, `${at}: ${sig.reasons[0] ?? 'signature not checked'}`));
    for (const s of a.subjects.filter((x) => x.match === 'mismatch').slice(0, MAX_SHOWN)) {
      const p = path.join(manifest.dir, s.path as string);
      fail('provenance.subject-mismatch', 'critical', p, `content differs from the digest ${s.digest[0] ?? ''} attested in ${path.basename(at)}`, { subject: s.name, attestation: at });
    }
    if (!a.bound && !a.subjects.some((s) => s.match === 'mismatch')) fail('provenance.not-bound', 'high', at, `no subject of this attestation is in the folder (${a.subjects.slice(0, 3).map((s) => s.name).join(', ') || 'no subjects'}): it is about other artifacts`);
    const missing = a.subjects.filter((s) => s.match === 'missing');
    if (a.bound && missing.length) findings.push(finding('provenance.subject-missing', 'medium', at, `${at}: ${missing.length} attested subject${missing.length === 1 ? ' is' : 's are'} not in the folder (${missing.slice(0, 3).map((s) => s.name).join(', ')})`));
    for (const r of a.subjects.filter((s) => s.match === 'renamed').slice(0, MAX_SHOWN)) findings.push(finding('provenance.subject-renamed', 'info', at, `${at}: subject ${r.name} is in the folder as ${r.path}`));
    const weights = a.uncovered.filter((p) => WEIGHTS.test(p));
    if (a.bound && weights.length) findings.push(finding('provenance.unattested-weights', 'medium', at, `${at}: ${weights.length} weight file${weights.length === 1 ? ' is' : 's are'} not covered by the attestation (${weights.slice(0, 3).join(', ')})`));
    for (const p of a.policyProblems) fail('provenance.policy', 'high', at, p);
  }

  // ---- the folder's verdict
  const usable = attestations.filter((a) => a.bound && a.signature.status === 'verified' && a.policyProblems.length === 0);
  let status: TrainingProvenanceCheck['status'];
  if (!attestations.length) {
    status = 'absent';
    reasons.push('no training provenance');
    const wanted = opts.require || opts.builder !== undefined || opts.sourceRepo !== undefined || (opts.requireFields?.length ?? 0) > 0;
    if (wanted) fail('provenance.missing', 'high', manifest.dir, 'no training provenance, but it is required (--require-provenance, --builder, --source-repo or the trust policy)');
    else findings.push(finding('provenance.absent', 'info', manifest.dir, `${manifest.dir}: no training provenance (no SLSA provenance attestation in the folder or given with --provenance)`));
  } else if (failed) status = 'failed';
  else if (usable.length) status = 'verified';
  else {
    status = 'unverified';
    const why = attestations[0]?.signature.reasons[0] ?? 'signature not checked';
    reasons.push(why);
    if (opts.require) fail('provenance.missing', 'high', manifest.dir, `training provenance is present but not verified (${why}), and --require-provenance asks for a verified one`);
  }
  if (status === 'failed' && !reasons.length) reasons.push('training provenance check failed');
  return { status: failed ? 'failed' : status, attestations, reasons, findings, failed, filesInFolder };
}
