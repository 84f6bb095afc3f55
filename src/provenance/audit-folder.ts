import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { finding, severityRank } from '../formats/finding.js';
import type { Finding } from '../formats/finding.js';
import { createAuditContext } from './audits/context.js';
import type { OnnxAudit } from './audits/onnx-audit.js';
import { FOLDER_CHECKS } from './audits/registry.js';
import { checkExpectations } from './integrity/expect.js';
import type { ExpectationResult } from './integrity/expect.js';
import { MODEL_SIGNING_IGNORE, buildManifest } from './integrity/manifest.js';
import type { Manifest } from './integrity/manifest.js';
import { absentSignature, verifyModelSignature } from './integrity/model-signing.js';
import type { SignatureCheck } from './integrity/model-signing.js';
import { checkPins } from './integrity/pins.js';
import type { IdentityPolicy } from './integrity/sigstore-keyless.js';
import { checkTrainingProvenance } from './integrity/training-provenance.js';
import type { ProvenanceOptions, TrainingProvenanceCheck } from './integrity/training-provenance.js';
import { evaluatePolicy } from './trust-policy.js';
import type { PolicyOutcome, ResolvedPolicy } from './trust-policy.js';
import type { PinCheck, PinMode } from './integrity/pins.js';

/**
 * Everything the provenance layer knows about a model folder, in one call, before any model code
 * or graph is loaded: the content manifest, static checks of every file (pickles walked, never
 * loaded; safetensors headers and index; tokenizer; every ONNX graph), a model_signing signature
 * when present, the trust-on-first-use pin and `--expect` digests.
 *
 * `blocked` is true when an ONNX graph must not be handed to ONNX Runtime at all (external data
 * escaping the folder, ORT's in-memory address tag, unparseable graph...). A dangerous pickle is
 * critical but does not block: nothing here or in the scan ever unpickles.
 *
 * Pure: nothing is written. `pin.pending` holds what trust on first use would record; the caller
 * runs `commitPin(audit.pin)` once everything it checked and loaded has succeeded.
 */

/** How to check a model signature; everything is optional (the default is what the bundle says). */
export interface SignatureOptions {
  path?: string | undefined;
  /** Key method: the signer's public key. */
  publicKeyPem?: string | undefined;
  /** Certificate method: the trusted CA. */
  trustCertPem?: string | undefined;
  /** Keyless method: the expected signer (any one of a list); without it a valid signature is "signer not pinned". */
  identity?: IdentityPolicy | readonly IdentityPolicy[] | undefined;
  /** Keyless method: trusted_root.json to use instead of the bundled Sigstore public-good root. */
  trustRootPath?: string | undefined;
  /** Relative paths left out of the signature comparison (model_signing's --ignore-paths). */
  ignorePaths?: readonly string[] | undefined;
}

export interface AuditFolderOptions {
  /** The graph the scan will load, absolute or relative to the folder; null when it loads none (built from safetensors). */
  graphPath?: string | null;
  pins?: { file?: string; mode: PinMode; name?: string; note?: string };
  expect?: string[];
  /** `path` defaults to `<dir>/model.sig` when that exists. */
  signature?: SignatureOptions | undefined;
  /** How many `expect` sources must agree (default: all of them). */
  expectAgree?: number | undefined;
  /** Training provenance (SLSA v1): files, signer, policy. Found in the folder by their bytes too. */
  training?: ProvenanceOptions | undefined;
  /** A trust policy already resolved for this model; each rule's outcome is recorded, failures fail. */
  policy?: ResolvedPolicy | undefined;
  /** Base for relative `expect` file names; default process.cwd(). */
  cwd?: string;
}

export interface FolderAudit {
  dir: string;
  manifest: Manifest;
  /** Every finding: files, graphs, signature, pin and expectation failures; worst first. */
  fileFindings: Finding[];
  /** Per ONNX graph in the folder. */
  onnx: OnnxAudit[];
  /** The graph `blocked` refers to (relative), when one was found. */
  graph?: string;
  pin: PinCheck;
  expectations: ExpectationResult[];
  signature: SignatureCheck;
  /** Training provenance: status, each attestation with what it attests and how it binds. */
  training: TrainingProvenanceCheck;
  /** The trust policy applied, with each rule's outcome. */
  policy?: { file: string; sha256: string; matched: string; outcomes: PolicyOutcome[] };
  /** One line per failed integrity check (pin, expectation, signature, provenance, policy). */
  failedChecks: string[];
  blocked: boolean;
  blockReason?: string;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

export async function auditModelFolder(dirArg: string, opts: AuditFolderOptions = {}): Promise<FolderAudit> {
  const dir = path.resolve(dirArg);
  const findings: Finding[] = [];
  const failedChecks: string[] = [];

  // The signature file is not model content: leave it out of digests and pins.
  const sigPath = opts.signature?.path !== undefined ? path.resolve(opts.cwd ?? process.cwd(), opts.signature.path) : (await exists(path.join(dir, 'model.sig'))) ? path.join(dir, 'model.sig') : undefined;
  if (opts.signature?.path !== undefined && !(await exists(sigPath as string))) {
    throw new UserError('E_SIGNATURE_READ', `${opts.signature.path}: signature file not found`, opts.signature.path);
  }
  const ignore = [...MODEL_SIGNING_IGNORE];
  if (sigPath) {
    const rel = path.relative(dir, sigPath);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) ignore.push(rel.split(path.sep).join('/'));
  }
  const manifest = await buildManifest(dir, { ignore });

  // ---- content audits (registry.ts), over one shared context
  const ctx = createAuditContext(manifest, opts.graphPath);
  for (const check of FOLDER_CHECKS) findings.push(...(await check.run(ctx)));
  const onnx = await ctx.onnxAudits();
  const mainRel = ctx.mainGraph;

  // A snapshot blob whose content is not what its digest name says: the cache was altered.
  for (const f of manifest.files) if (f.blob && !f.blob.nameMatches) failedChecks.push(`${path.join(dir, f.path)}: Hugging Face blob ${f.blob.name} does not match its content`);

  // ---- signature
  let signature: SignatureCheck;
  if (sigPath) {
    const so = opts.signature ?? {};
    signature = await verifyModelSignature(manifest, {
      sigPath,
      ...(so.publicKeyPem !== undefined ? { publicKeyPem: so.publicKeyPem } : {}),
      ...(so.trustCertPem !== undefined ? { trustCertPem: so.trustCertPem } : {}),
      ...(so.identity !== undefined ? { identity: so.identity } : {}),
      ...(so.trustRootPath !== undefined ? { trustRootPath: path.resolve(opts.cwd ?? process.cwd(), so.trustRootPath) } : {}),
      ...(so.ignorePaths !== undefined ? { ignorePaths: so.ignorePaths } : {}),
    });
  } else if (opts.signature?.publicKeyPem !== undefined || opts.signature?.trustCertPem !== undefined) {
    signature = { ...absentSignature(), status: 'failed', failed: true, reasons: [`${dir}: a key or trusted certificate was given but the folder has no model.sig`] };
    signature.findings = [finding('model-signing.missing', 'high', dir, signature.reasons[0] as string)];
  } else {
    signature = absentSignature();
  }
  findings.push(...signature.findings);
  if (signature.failed) failedChecks.push(`signature ${signature.file || 'model.sig'}: ${signature.reasons[0] ?? 'failed'}`);

  // ---- training provenance
  const training = await checkTrainingProvenance(manifest, { ...opts.training, cwd: opts.training?.cwd ?? opts.cwd });
  findings.push(...training.findings);
  if (training.failed) failedChecks.push(`training provenance: ${training.reasons[0] ?? 'failed'}`);

  // ---- pins and expectations
  const pin = opts.pins ? await checkPins(manifest, opts.pins) : await checkPins(manifest, { mode: 'off' });
  if (pin.status === 'mismatch') {
    findings.push(finding('pin.mismatch', 'critical', dir, pin.message, { name: pin.name, pinFile: pin.file, changed: pin.diff.changed.map((c) => c.path), missing: pin.diff.missing, extra: pin.diff.extra }));
  } else if (pin.status === 'unknown') {
    findings.push(finding('pin.unknown', 'high', dir, pin.message, { name: pin.name, pinFile: pin.file }));
  }
  if (pin.failed) failedChecks.push(pin.message);

  const expectations = await checkExpectations(manifest, opts.expect ?? [], opts.cwd !== undefined ? { cwd: opts.cwd } : {});
  // k of n: enough agreeing sources carry the check; a dissenting one is still shown.
  const agreeing = expectations.filter((x) => x.ok).length;
  const need = Math.min(opts.expectAgree ?? expectations.length, expectations.length);
  const carried = opts.expectAgree !== undefined && agreeing >= need;
  for (const e of expectations.filter((x) => !x.ok)) {
    const detail = { source: e.source, problems: e.problems.filter((p) => p.kind !== 'not-listed').slice(0, 50) };
    if (carried) findings.push(finding('expect.dissenting-source', 'medium', dir, `${dir}: ${e.message} (${agreeing} of ${expectations.length} sources agree, ${need} required)`, detail));
    else {
      findings.push(finding('expect.mismatch', 'critical', dir, `${dir}: ${e.message}`, detail));
      failedChecks.push(e.message);
    }
  }
  if (opts.expectAgree !== undefined && agreeing < need) failedChecks.push(`only ${agreeing} of ${expectations.length} digest sources agree with the folder (${need} required)`);

  // ---- the trust policy's rules, on what was found
  let policy: FolderAudit['policy'];
  if (opts.policy) {
    const bound = training.attestations.some((a) => a.bound);
    const outcomes = evaluatePolicy(opts.policy, {
      signature: { status: signature.status, method: signature.method, reasons: signature.reasons, ...(signature.keyless ? { keylessPolicy: signature.keyless.policy } : {}) },
      training: { status: training.status, bound, policyOk: training.attestations.some((a) => a.bound && a.policyProblems.length === 0), reasons: training.reasons },
      expect: { agreeing, total: expectations.length },
      pin: { status: pin.status, failed: pin.failed, message: pin.message },
    });
    policy = { file: opts.policy.file, sha256: opts.policy.sha256, matched: opts.policy.matched, outcomes };
    for (const o of outcomes.filter((x) => x.outcome === 'fail')) {
      findings.push(finding('policy.rule-failed', 'high', opts.policy.file, `${opts.policy.file}: ${opts.policy.matched} ${o.rule}: ${o.detail}`, { rule: o.rule }));
      failedChecks.push(`trust policy ${o.rule}: ${o.detail}`);
    }
  }

  // ---- blocking
  const mainAudit = onnx.find((a) => a.file === path.resolve(dir, mainRel ?? ''));
  const blocking = opts.graphPath === null ? [] : opts.graphPath !== undefined ? (mainAudit?.blocked ? [mainAudit] : []) : onnx.filter((a) => a.blocked);
  findings.sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  const out: FolderAudit = { dir, manifest, fileFindings: findings, onnx, pin, expectations, signature, training, failedChecks, blocked: blocking.length > 0 };
  if (policy) out.policy = policy;
  if (mainRel) out.graph = mainRel;
  if (blocking[0]?.blockReason) out.blockReason = blocking[0].blockReason;
  return out;
}

/**
 * The gate every command passes before it loads a model folder (scan, hunt and its `--base`,
 * inspect; the pipeline reaches it through `auditGate`): the audit, and a UserError when the graph is blocked or an integrity check failed.
 * Pass `pins: { mode: 'off' }` for a folder that is only read, not pinned.
 */
export async function auditBeforeLoad(dir: string, opts: AuditFolderOptions = {}): Promise<FolderAudit> {
  const audit = await auditModelFolder(dir, opts);
  if (audit.blocked) throw new UserError('E_UNSAFE_MODEL', `${dir}: refusing to load the graph: ${audit.blockReason ?? 'a critical file finding'}`, dir);
  if (audit.failedChecks.length) throw new UserError('E_PROVENANCE', `${dir}: provenance check failed: ${audit.failedChecks.join('; ')}`, dir);
  return audit;
}
