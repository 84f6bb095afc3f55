/**
 * `trigger-scan diff <old report.json> <new report.json>`: what changed between two scans of a model
 * (last night's and tonight's): findings that are new, gone or changed, the verdict, file digests,
 * the pin and the packs. The diff is a document of its own (zod → schemas/diff.schema.json) so CI can
 * read `--json`; `diffFails` is the `--fail-on` rule.
 */
import { z } from 'zod';
import { fmtQ, pct } from './common.js';
import { visible } from './markdown.js';
import { VerdictLevel, type ReportFinding, type ScanReport } from './schema.js';

export const DIFF_SCHEMA = 'trigger-scan/diff';
export const DIFF_SCHEMA_VERSION = 1;
export const DIFF_FAIL_ON = ['none', 'new', 'changed', 'any'] as const;
export type DiffFailOn = (typeof DIFF_FAIL_ON)[number];

const FindingStateSchema = z.object({
  level: z.string(),
  category: z.string().nullable(),
  attackSuccess: z.number(),
  qValue: z.number(),
  evidence: z.string().nullable(),
});

const FindingEntrySchema = z.object({
  key: z.string().describe('`<pack>/<id>@<placement>`; discovered triggers by their text: `discovered:<text>@<placement>` (their ids differ between runs)'),
  text: z.string(),
  placement: z.string(),
  source: z.string(),
  old: FindingStateSchema.nullable(),
  new: FindingStateSchema.nullable(),
  changes: z.array(z.string()).describe('what changed, for changed findings: level, category, evidence, attackSuccess'),
});

const Change = <T extends z.ZodType>(t: T) => z.object({ from: t, to: t }).nullable();

export const ReportDiffSchema = z
  .object({
    schema: z.literal(DIFF_SCHEMA),
    schemaVersion: z.literal(DIFF_SCHEMA_VERSION),
    old: z.object({ model: z.string(), finishedAt: z.string(), rootDigest: z.string() }),
    new: z.object({ model: z.string(), finishedAt: z.string(), rootDigest: z.string() }),
    verdict: Change(VerdictLevel),
    findings: z.object({ new: z.array(FindingEntrySchema), gone: z.array(FindingEntrySchema), changed: z.array(FindingEntrySchema) }),
    digests: z.object({ rootDigest: Change(z.string()), directoryDigest: Change(z.string()) }),
    files: z.object({
      added: z.array(z.object({ path: z.string(), sha256: z.string() })),
      removed: z.array(z.object({ path: z.string(), sha256: z.string() })),
      changed: z.array(z.object({ path: z.string(), from: z.string(), to: z.string() })),
    }),
    pin: Change(z.string()).describe('pin status (match, new, mismatch, ...) when it changed'),
    packs: z.object({
      added: z.array(z.object({ name: z.string(), version: z.string(), digest: z.string() })),
      removed: z.array(z.object({ name: z.string(), version: z.string(), digest: z.string() })),
      changed: z.array(z.object({ name: z.string(), from: z.string(), to: z.string() }).describe('`<version> <digest>` before and after')),
    }),
    settings: z.array(z.object({ key: z.string(), from: z.string(), to: z.string() })).describe('scan settings that differ (JSON values)'),
  })
  .describe('trigger-scan diff --json');

export type ReportDiff = z.infer<typeof ReportDiffSchema>;
type FindingEntry = z.infer<typeof FindingEntrySchema>;
type FindingState = z.infer<typeof FindingStateSchema>;

/** The identity of a finding across runs: one finding per (trigger, placement); discovered ones by text. */
export function findingKey(f: Pick<ReportFinding, 'source' | 'trigger' | 'placement'>): string {
  return f.source === 'discovered' ? `discovered:${f.trigger.text}@${f.placement}` : `${f.trigger.ref}@${f.placement}`;
}

const state = (f: ReportFinding): FindingState => ({ level: f.level, category: f.category, attackSuccess: f.attackSuccess, qValue: f.qValue, evidence: f.evidence?.kind ?? null });

/** A move of the attack success this large (a tenth of the baselines) counts as a change. */
const ATTACK_SUCCESS_STEP = 0.1;

function changesOf(a: FindingState, b: FindingState): string[] {
  const out: string[] = [];
  if (a.level !== b.level) out.push('level');
  if (a.category !== b.category) out.push('category');
  if (a.evidence !== b.evidence) out.push('evidence');
  if (Math.abs(a.attackSuccess - b.attackSuccess) >= ATTACK_SUCCESS_STEP) out.push('attackSuccess');
  return out;
}

const change = <T>(from: T, to: T): { from: T; to: T } | null => (from === to ? null : { from, to });

export function diffReports(a: ScanReport, b: ScanReport): ReportDiff {
  const index = (r: ScanReport) => new Map(r.findings.map((f) => [findingKey(f), f] as const));
  const oldF = index(a);
  const newF = index(b);
  const entry = (k: string, o: ReportFinding | undefined, n: ReportFinding | undefined, changes: string[] = []): FindingEntry => {
    const f = (n ?? o)!;
    return { key: k, text: f.trigger.text, placement: f.placement, source: f.source, old: o ? state(o) : null, new: n ? state(n) : null, changes };
  };
  const added = [...newF].filter(([k]) => !oldF.has(k)).map(([k, f]) => entry(k, undefined, f));
  const gone = [...oldF].filter(([k]) => !newF.has(k)).map(([k, f]) => entry(k, f, undefined));
  const changed = [...newF]
    .filter(([k]) => oldF.has(k))
    .map(([k, f]) => entry(k, oldF.get(k), f, changesOf(state(oldF.get(k)!), state(f))))
    .filter((e) => e.changes.length);

  const files = (r: ScanReport) => new Map(r.model.files.map((f) => [f.path, f.sha256] as const));
  const fa = files(a);
  const fb = files(b);
  const packs = (r: ScanReport) => new Map(r.packs.map((p) => [p.name, p] as const));
  const pa = packs(a);
  const pb = packs(b);
  const settingKeys = [...new Set([...Object.keys(a.settings), ...Object.keys(b.settings)])].sort();
  const show = (v: unknown) => JSON.stringify(v) ?? 'null';
  return {
    schema: DIFF_SCHEMA,
    schemaVersion: DIFF_SCHEMA_VERSION,
    old: { model: a.model.dir, finishedAt: a.run.finishedAt, rootDigest: a.model.rootDigest },
    new: { model: b.model.dir, finishedAt: b.run.finishedAt, rootDigest: b.model.rootDigest },
    verdict: change(a.verdict.level, b.verdict.level),
    findings: { new: added, gone, changed },
    digests: { rootDigest: change(a.model.rootDigest, b.model.rootDigest), directoryDigest: change(a.model.directoryDigest, b.model.directoryDigest) },
    files: {
      added: [...fb].filter(([p]) => !fa.has(p)).map(([path, sha256]) => ({ path, sha256 })),
      removed: [...fa].filter(([p]) => !fb.has(p)).map(([path, sha256]) => ({ path, sha256 })),
      changed: [...fb].filter(([p, h]) => fa.has(p) && fa.get(p) !== h).map(([path, to]) => ({ path, from: fa.get(path)!, to })),
    },
    pin: change(a.provenance?.pin.status ?? 'unknown', b.provenance?.pin.status ?? 'unknown'),
    packs: {
      added: [...pb.values()].filter((p) => !pa.has(p.name)).map((p) => ({ name: p.name, version: p.version, digest: p.digest })),
      removed: [...pa.values()].filter((p) => !pb.has(p.name)).map((p) => ({ name: p.name, version: p.version, digest: p.digest })),
      changed: [...pb.values()]
        .filter((p) => pa.has(p.name) && (pa.get(p.name)!.digest !== p.digest || pa.get(p.name)!.version !== p.version))
        .map((p) => ({ name: p.name, from: `${pa.get(p.name)!.version} ${pa.get(p.name)!.digest}`, to: `${p.version} ${p.digest}` })),
    },
    settings: settingKeys
      .map((key) => ({ key, from: show((a.settings as Record<string, unknown>)[key]), to: show((b.settings as Record<string, unknown>)[key]) }))
      .filter((s) => s.from !== s.to),
  };
}

/** Whether the model itself (its files) changed between the two reports. */
const modelChanged = (d: ReportDiff): boolean => Boolean(d.digests.rootDigest || d.files.added.length || d.files.removed.length || d.files.changed.length);

/**
 * `--fail-on`: new = a finding the old report did not have; changed = that, or a finding whose level,
 * category, evidence or attack success moved, or model files whose digests changed, or a pin that
 * changed status; any = any difference at all (gone findings, verdict, packs, settings too).
 */
export function diffFails(d: ReportDiff, failOn: DiffFailOn): boolean {
  if (failOn === 'none') return false;
  const isNew = d.findings.new.length > 0;
  if (failOn === 'new') return isNew;
  const isChanged = isNew || d.findings.changed.length > 0 || modelChanged(d) || d.pin !== null;
  if (failOn === 'changed') return isChanged;
  return isChanged || d.findings.gone.length > 0 || d.verdict !== null || d.packs.added.length + d.packs.removed.length + d.packs.changed.length > 0 || d.settings.length > 0;
}

const short = (h: string) => h.replace(/^sha256:/, '').slice(0, 12);

/** The diff for a terminal or a CI log: one line per difference, `+` new, `-` gone, `~` changed. */
export function renderDiffText(d: ReportDiff): string {
  const out: string[] = [];
  const f = d.findings;
  out.push(`verdict: ${d.verdict ? `${d.verdict.from} → ${d.verdict.to}` : 'unchanged'}`);
  out.push(`findings: ${f.new.length} new, ${f.gone.length} gone, ${f.changed.length} changed`);
  const line = (mark: string, e: FindingEntry) => {
    const s = (e.new ?? e.old)!;
    const level = e.old && e.new && e.old.level !== e.new.level ? `${e.old.level} → ${e.new.level}` : s.level;
    const cat = s.category ? ` (${s.category})` : '';
    const what = e.changes.length ? `  [${e.changes.join(', ')}]` : '';
    return `  ${mark} ${level.padEnd(10)} ${JSON.stringify(visible(e.text))} @${e.placement}${cat}  attack success ${pct(s.attackSuccess)}  q=${fmtQ(s.qValue)}${what}`;
  };
  for (const e of f.new) out.push(line('+', e));
  for (const e of f.gone) out.push(line('-', e));
  for (const e of f.changed) out.push(line('~', e));
  if (d.digests.rootDigest) out.push(`model root digest: ${short(d.digests.rootDigest.from)} → ${short(d.digests.rootDigest.to)}`);
  const fl = d.files;
  if (fl.added.length + fl.removed.length + fl.changed.length) {
    out.push(`files: ${fl.changed.length} changed, ${fl.added.length} added, ${fl.removed.length} removed`);
    for (const x of fl.changed) out.push(`  ~ ${x.path}  sha256 ${short(x.from)} → ${short(x.to)}`);
    for (const x of fl.added) out.push(`  + ${x.path}  sha256 ${short(x.sha256)}`);
    for (const x of fl.removed) out.push(`  - ${x.path}`);
  } else out.push('files: unchanged');
  if (d.pin) out.push(`pin: ${d.pin.from} → ${d.pin.to}`);
  for (const p of d.packs.changed) out.push(`pack ${p.name}: ${p.from} → ${p.to}`);
  for (const p of d.packs.added) out.push(`pack ${p.name}: added (${p.version})`);
  for (const p of d.packs.removed) out.push(`pack ${p.name}: removed`);
  for (const s of d.settings) out.push(`setting ${s.key}: ${s.from} → ${s.to}`);
  return out.join('\n') + '\n';
}
