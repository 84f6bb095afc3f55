/**
 * The `trigger-scan verify --json` document, defined once: the zod schema below gives the types and
 * `schemas/verify.schema.json` (generated, tested current). `verifyReport(audit)` maps the folder
 * audit into it field by field, and `verifyModel(dir, options)` is the whole `verify` command as a
 * library call.
 *
 * Versioned like report.json: bump VERIFY_SCHEMA_VERSION when a field is removed, renamed or
 * changes meaning; adding a field is compatible.
 */
import { z } from 'zod';
import { auditModelFolder, type AuditFolderOptions, type FolderAudit } from '../provenance/audit-folder.js';
import type { ExpectationKind, ExpectationProblem } from '../provenance/integrity/expect.js';
import { commitPin } from '../provenance/integrity/pins.js';
import { FileSeverity, KeylessSchema, PinStatusSchema, TrainingProvenanceSchema, TrustPolicyResultSchema, ReportFileSchema, SignatureMethodSchema, SignatureStatusSchema } from './schema.js';
import { severityRank } from './common.js';
import { keylessSummary, policySection, trainingSection } from './provenance-summary.js';

export const VERIFY_SCHEMA = 'trigger-scan/verify';
export const VERIFY_SCHEMA_VERSION = 1;

export const EXPECTATION_KINDS = ['digest', 'sha256sums', 'model-signing'] as const;
export const EXPECTATION_PROBLEM_KINDS = ['changed', 'missing', 'extra', 'not-listed', 'digest-mismatch'] as const;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const PinRecordSchema = z.object({
  files: z.record(z.string(), z.string()).describe('POSIX path → lowercase hex sha256'),
  rootDigest: z.string(),
  directoryDigest: z.string(),
  firstSeen: z.string(),
  lastSeen: z.string().optional(),
  updatedAt: z.string().optional(),
  note: z.string().optional(),
  path: z.string().optional(),
});

export const VerifyReportSchema = z
  .object({
    schema: z.literal(VERIFY_SCHEMA),
    schemaVersion: z.literal(VERIFY_SCHEMA_VERSION),
    ok: z.boolean().describe('no finding at high or critical, no failed check, graph not blocked (exit 0)'),
    dir: z.string(),
    rootDigest: sha256Hex,
    directoryDigest: sha256Hex,
    files: z.array(ReportFileSchema),
    graph: z.string().nullable().describe('the graph a scan would load, relative to the folder'),
    blocked: z.boolean().describe('the graph must not be handed to ONNX Runtime'),
    blockReason: z.string().nullable(),
    pin: z.object({
      status: PinStatusSchema,
      name: z.string(),
      file: z.string(),
      diff: z.object({
        changed: z.array(z.object({ path: z.string(), pinned: z.string(), actual: z.string() })),
        missing: z.array(z.string()),
        extra: z.array(z.string()),
      }),
      pinned: PinRecordSchema.optional().describe('the record before this check, when there was one'),
      knownAs: z.array(z.string()),
      failed: z.boolean(),
      message: z.string(),
    }),
    expectations: z.array(
      z.object({
        source: z.string(),
        kind: z.enum(EXPECTATION_KINDS),
        ok: z.boolean(),
        matched: z.enum(['rootDigest', 'directoryDigest']).optional(),
        problems: z.array(
          z.object({ kind: z.enum(EXPECTATION_PROBLEM_KINDS), file: z.string().optional(), expected: z.string().optional(), actual: z.string().optional() }),
        ),
        message: z.string(),
      }),
    ),
    signature: z.object({
      status: SignatureStatusSchema,
      method: SignatureMethodSchema,
      file: z.string(),
      reasons: z.array(z.string()),
      signer: z.record(z.string(), z.string()),
      diff: z.object({
        changed: z.array(z.object({ path: z.string(), signed: z.string(), actual: z.string() })),
        missing: z.array(z.string()),
        extra: z.array(z.string()),
        ignoredPresent: z.array(z.string()),
      }),
      keyless: KeylessSchema.optional().describe('Sigstore keyless bundles: what was verified offline against the trust root'),
    }),
    training: TrainingProvenanceSchema.optional().describe('training provenance (SLSA v1 attestations)'),
    trustPolicy: TrustPolicyResultSchema.optional().describe('the trust policy applied and each rule\'s outcome'),
    failedChecks: z.array(z.string()),
    findings: z.array(
      z.object({ id: z.string(), severity: FileSeverity, file: z.string(), message: z.string(), detail: z.record(z.string(), z.unknown()).optional() }),
    ),
  })
  .describe('trigger-scan verify --json');

export type VerifyReport = z.infer<typeof VerifyReportSchema>;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
export type VerifyContractChecks = [
  Holds<Same<(typeof EXPECTATION_KINDS)[number], ExpectationKind>>,
  Holds<Same<(typeof EXPECTATION_PROBLEM_KINDS)[number], ExpectationProblem['kind']>>,
];

/** Serious enough to fail `verify`. */
export const isSerious = (f: { severity: FileSeverity }): boolean => severityRank(f.severity) >= severityRank('high');

/** The folder audit as the verify document. */
export function verifyReport(a: FolderAudit): VerifyReport {
  const ok = !a.fileFindings.some(isSerious) && a.failedChecks.length === 0 && !a.blocked;
  const p = a.pin;
  const s = a.signature;
  return {
    schema: VERIFY_SCHEMA,
    schemaVersion: VERIFY_SCHEMA_VERSION,
    ok,
    dir: a.dir,
    rootDigest: a.manifest.rootDigest,
    directoryDigest: a.manifest.directoryDigest,
    files: a.manifest.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
    graph: a.graph ?? null,
    blocked: a.blocked,
    blockReason: a.blockReason ?? null,
    pin: {
      status: p.status,
      name: p.name,
      file: p.file,
      diff: { changed: p.diff.changed.map((c) => ({ ...c })), missing: [...p.diff.missing], extra: [...p.diff.extra] },
      ...(p.pinned ? { pinned: { ...p.pinned, files: { ...p.pinned.files } } } : {}),
      knownAs: [...p.knownAs],
      failed: p.failed,
      message: p.message,
    },
    expectations: a.expectations.map((e) => ({
      source: e.source,
      kind: e.kind,
      ok: e.ok,
      ...(e.matched ? { matched: e.matched } : {}),
      problems: e.problems.map((x) => ({ ...x })),
      message: e.message,
    })),
    signature: {
      status: s.status,
      method: s.method,
      file: s.file,
      reasons: [...s.reasons],
      signer: { ...s.signer },
      diff: { changed: s.diff.changed.map((c) => ({ ...c })), missing: [...s.diff.missing], extra: [...s.diff.extra], ignoredPresent: [...s.diff.ignoredPresent] },
      ...(s.keyless ? { keyless: keylessSummary(s.keyless) } : {}),
    },
    training: trainingSection(a),
    ...(a.policy ? { trustPolicy: policySection(a) } : {}),
    failedChecks: [...a.failedChecks],
    findings: a.fileFindings.map((f) => ({ id: f.id, severity: f.severity, file: f.file, message: f.message, ...(f.detail ? { detail: f.detail } : {}) })),
  };
}

export type VerifyOptions = AuditFolderOptions;

/**
 * `trigger-scan verify` as a library call: the folder audit (file safety, graph, pins, expected
 * digests, signature) without loading the model, and the document it prints. Pass `pins` to choose
 * the pin file and mode; without it nothing is pinned. Trust on first use records the folder (or a
 * match's lastSeen) only when it passes; a failed folder stays `new`, not pinned.
 */
export async function verifyModel(dir: string, options: VerifyOptions = {}): Promise<{ audit: FolderAudit; report: VerifyReport }> {
  const audit = await auditModelFolder(dir, options);
  if (verifyReport(audit).ok) audit.pin = await commitPin(audit.pin);
  else if (audit.pin.status === 'new') audit.pin = { ...audit.pin, message: `${audit.pin.message}; not pinned, since the folder failed verification` };
  return { audit, report: verifyReport(audit) };
}
