/**
 * The keyless signer, trust root, training provenance and trust policy of a report, as plain lines
 * of text: one wording for report.md, report.html and `verify`, so the three say the same thing.
 * The strings come from the model folder (SANs, URIs, file names): callers escape them for their
 * medium.
 */
import path from 'node:path';
import type { z } from 'zod';
import type { KeylessSchema, ProvenanceSchema, TrainingProvenanceSchema, TrustPolicyResultSchema } from './schema.js';

type Keyless = z.infer<typeof KeylessSchema>;
type Training = z.infer<typeof TrainingProvenanceSchema>;
type Attestation = Training['attestations'][number];
type Policy = z.infer<typeof TrustPolicyResultSchema>;

export type Tone = 'good' | 'bad' | 'warn';

/** Renderers show this many items and lines per item; the rest is in report.json (bounded output). */
export const MAX_PROVENANCE_ITEMS = 12;
export const MAX_PROVENANCE_LINES = 20;

/** One labelled item: a headline (with how it reads: good, bad or a warning) and detail lines. */
export interface ProvenanceItem {
  label: string;
  headline: string;
  tone: Tone;
  lines: string[];
}

export function signerState(k: Keyless): { text: string; tone: Tone } {
  if (!k.valid) return { text: 'NOT VERIFIED', tone: 'bad' };
  if (k.policy === 'mismatch') return { text: 'WRONG SIGNER', tone: 'bad' };
  return k.signerPinned ? { text: 'pinned', tone: 'good' } : { text: 'NOT PINNED (signature valid, signer not pinned)', tone: 'warn' };
}

export function signerItem(k: Keyless): ProvenanceItem {
  const s = signerState(k);
  const lines = [`issuer ${k.issuer ?? '?'}`];
  if (k.signedAt) lines.push(`signed ${k.signedAt}`);
  if (k.tlogEntries.length) lines.push(`rekor ${k.tlogEntries.join(', ')}`);
  return { label: 'Signer', headline: `${k.identity ?? '(no identity)'}: ${s.text}`, tone: s.tone, lines };
}

export function trustRootLine(t: Keyless['trustRoot']): string {
  return `${t.name}, ${t.version}${t.refreshBy ? `, refresh by ${t.refreshBy}${t.stale ? ' (PASSED: supply a newer one with --trust-root)' : ''}` : ''}`;
}

export function trustRootItem(t: Keyless['trustRoot']): ProvenanceItem {
  return { label: 'Trust root', headline: trustRootLine(t), tone: t.stale ? 'warn' : 'good', lines: [`sha256:${t.sha256}`, t.file] };
}

const STATUS_TONE: Record<string, Tone> = { verified: 'good', failed: 'bad', unverified: 'warn', absent: 'warn' };

/** `verified (dsse, provenance.intoto.json): signed by key 0123…` */
export function attestationHeadline(a: Attestation, dir: string): string {
  const sig = a.signature;
  const by = sig.method === 'keyless' ? `${sig.identity ?? '?'} (issuer ${sig.issuer ?? '?'})` : `key ${sig.keyid ? `${sig.keyid.slice(0, 16)}…` : '?'}`;
  const word = sig.status === 'verified' ? 'verified' : sig.status === 'failed' ? 'FAILED' : 'unverified';
  return `${word} (${a.format}, ${path.relative(dir, a.file) || a.file}): signed by ${by}${sig.reasons[0] ? `: ${sig.reasons[0]}` : ''}`;
}

/** What one attestation says produced the weights, and how it binds to the folder. */
export function attestationLines(a: Attestation): string[] {
  const out: string[] = [];
  const bound = a.subjects.filter((x) => x.match !== 'missing' && x.match !== 'mismatch').length;
  out.push(`subjects ${bound}/${a.subjects.length} in the folder${a.bound ? ', bound' : ', NOT BOUND'}${a.uncovered.length ? `; ${a.uncovered.length} file(s) not attested` : ''}`);
  if (a.builder) out.push(`builder ${a.builder}`);
  if (a.source.repository || a.source.commit) out.push(`source ${a.source.repository ?? '?'}${a.source.ref ? `@${a.source.ref}` : ''}${a.source.commit ? ` commit ${a.source.commit}` : ''}`);
  for (const c of a.config) out.push(`config ${c.name ?? c.uri ?? '?'} ${c.digest.join(' ')}`.trimEnd());
  for (const d of a.datasets) out.push(`dataset ${d.uri ?? d.name ?? '?'} ${d.digest.join(' ')}`.trimEnd());
  if (a.hyperparameters.length) out.push(`hyperparameters ${a.hyperparameters.join(', ')}`);
  if (a.startedOn || a.finishedOn) out.push(`run ${a.startedOn ?? '?'} .. ${a.finishedOn ?? '?'}${a.invocationId ? `  ${a.invocationId}` : ''}`);
  for (const p of a.policyProblems) out.push(`POLICY ${p}`);
  return out;
}

/** `undefined`: the report was written before training provenance was checked. */
export function trainingItems(t: Training | undefined, dir: string): ProvenanceItem[] {
  if (!t) return [{ label: 'Training provenance', headline: 'not recorded in this report', tone: 'warn', lines: [] }];
  const head: ProvenanceItem = {
    label: 'Training provenance',
    headline: t.status === 'absent' ? 'no training provenance' : `${t.status}${t.status !== 'verified' && t.reasons[0] ? `: ${t.reasons[0]}` : ''}`,
    tone: STATUS_TONE[t.status] ?? 'warn',
    lines: [],
  };
  return [head, ...t.attestations.map((a) => ({ label: 'Attestation', headline: attestationHeadline(a, dir), tone: STATUS_TONE[a.signature.status] ?? 'warn', lines: attestationLines(a) }))];
}

export function policyItem(p: Policy): ProvenanceItem {
  const failed = p.outcomes.some((o) => o.outcome === 'fail');
  return {
    label: 'Trust policy',
    headline: `${p.file} (sha256:${p.sha256}), ${p.matched}`,
    tone: failed ? 'bad' : 'good',
    lines: p.outcomes.map((o) => `${o.outcome === 'pass' ? 'pass' : o.outcome === 'fail' ? 'FAIL' : 'n/a'}  ${o.rule}: ${o.detail}`),
  };
}

/** Everything past pin, signature status and expected digests, in reading order. */
export function provenanceItems(pv: z.infer<typeof ProvenanceSchema>, dir: string): ProvenanceItem[] {
  const out: ProvenanceItem[] = [];
  const k = pv.signature.keyless;
  if (k) out.push(signerItem(k), trustRootItem(k.trustRoot));
  out.push(...trainingItems(pv.training, dir));
  if (pv.trustPolicy) out.push(policyItem(pv.trustPolicy));
  return out;
}
