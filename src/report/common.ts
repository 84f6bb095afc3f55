import { FileSeverity, type CompactTest, type ReportFinding, type ScanReport } from './schema.js';

/**
 * Helpers the renderers share. Everything here reads a `ScanReport` and never changes it.
 */

/** File-finding severities rank by their order in the schema, least severe first. */
export const severityRank = (s: FileSeverity): number => FileSeverity.options.indexOf(s);

export const pct = (x: number): string => `${Math.round(x * 100)}%`;

/** q- and p-values: exponent form below 0.01 (as in the verdict summary), so 3e-12 does not print as 0.000. */
export function fmtQ(q: number): string {
  if (!Number.isFinite(q)) return String(q);
  if (q === 0) return '0';
  return q < 0.01 ? q.toExponential(1) : q.toFixed(3);
}

export function fmtNum(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && Math.abs(x) < 10 ** -digits) return x.toExponential(1);
  return x.toFixed(digits);
}

/** −log10 q, capped so that q = 0 (underflow) stays on a chart. */
export const Q_CAP = 300;
export function negLog10(q: number): number {
  if (!(q > 0)) return Q_CAP;
  return Math.min(Q_CAP, -Math.log10(q));
}

/** `pack/id` → pack and id, using the report's pack names so that an id holding a slash still splits right. */
export function splitRef(ref: string, r: ScanReport): { pack: string; id: string } {
  let best = '';
  for (const p of r.packs) if (ref.startsWith(`${p.name}/`) && p.name.length > best.length) best = p.name;
  if (best) return { pack: best, id: ref.slice(best.length + 1) };
  const i = ref.indexOf('/');
  return i < 0 ? { pack: '(none)', id: ref } : { pack: ref.slice(0, i), id: ref.slice(i + 1) };
}

/** The finding reported for a (trigger, placement): it may be a per-category row even when the all-baselines row passed. */
export function findingIndex(r: ScanReport): Map<string, ReportFinding> {
  const m = new Map<string, ReportFinding>();
  for (const f of r.findings) {
    const k = `${f.trigger.ref}@${f.placement}`;
    if (!m.has(k)) m.set(k, f);
  }
  return m;
}

/** Trigger texts by ref: only findings carry the text, other rows only carry the ref. */
export function triggerTexts(r: ScanReport): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of r.findings) m.set(f.trigger.ref, f.trigger.text);
  return m;
}

const RANK: Record<CompactTest['level'], number> = { flagged: 0, suspicious: 1, steering: 2, pass: 3, 'negative-control': 4 };
export const levelRank = (l: CompactTest['level']): number => RANK[l] ?? 5;

/** Strongest rows first: level, then q, then attack success, then key (so the order is stable). */
export function byStrength(a: CompactTest, b: CompactTest): number {
  return levelRank(a.level) - levelRank(b.level) || a.qValue - b.qValue || b.attackSuccess - a.attackSuccess || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** Shorten to `max` characters (code points), with an ellipsis. */
export function clip(s: string, max: number): string {
  const cps = [...s];
  return cps.length > max ? `${cps.slice(0, max - 1).join('')}…` : s;
}
