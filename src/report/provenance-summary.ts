/**
 * The provenance section of report.json (and the keyless part of `verify --json`), mapped from
 * the folder audit in one place so the two documents say the same thing.
 */
import type { z } from 'zod';
import type { FolderAudit } from '../provenance/audit-folder.js';
import type { KeylessSummary } from '../provenance/integrity/model-signing.js';
import type { KeylessSchema, ProvenanceSchema, TrainingProvenanceSchema, TrustPolicyResultSchema } from './schema.js';

export function keylessSummary(k: KeylessSummary): z.infer<typeof KeylessSchema> {
  return {
    valid: k.valid,
    ...(k.identity !== undefined ? { identity: k.identity } : {}),
    ...(k.issuer !== undefined ? { issuer: k.issuer } : {}),
    ...(k.signedAt !== undefined ? { signedAt: k.signedAt } : {}),
    tlogEntries: [...k.tlogEntries],
    timestamps: k.timestamps,
    signerPinned: k.signerPinned,
    policy: k.policy,
    trustRoot: { ...k.trustRoot, authorities: [...k.trustRoot.authorities] },
  };
}

export function provenanceSection(a: FolderAudit): z.infer<typeof ProvenanceSchema> {
  const s = a.signature;
  return {
    pin: { status: a.pin.status, name: a.pin.name },
    expectations: a.expectations.map((e) => ({ source: e.source, ok: e.ok, message: e.message })),
    signature: { status: s.status, method: s.method, file: s.file, reasons: [...s.reasons], ...(s.sha256 ? { sha256: s.sha256 } : {}), ...(s.keyless ? { keyless: keylessSummary(s.keyless) } : {}) },
    training: trainingSection(a),
    ...(a.policy ? { trustPolicy: policySection(a) } : {}),
  };
}

export function trainingSection(a: FolderAudit): z.infer<typeof TrainingProvenanceSchema> {
  const t = a.training;
  return {
    status: t.status,
    reasons: [...t.reasons],
    // A structured clone: the report must not share arrays with the audit it was made from.
    attestations: t.attestations.map((x) => JSON.parse(JSON.stringify(x)) as z.infer<typeof TrainingProvenanceSchema>['attestations'][number]),
  };
}

export function policySection(a: FolderAudit): z.infer<typeof TrustPolicyResultSchema> {
  const p = a.policy as NonNullable<FolderAudit['policy']>;
  return { file: p.file, sha256: p.sha256, matched: p.matched, outcomes: p.outcomes.map((o) => ({ ...o })) };
}
