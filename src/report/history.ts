/**
 * history.jsonl: one line per scan of a model, appended to the report folder after every run, so a
 * nightly job keeps a record of what each model looked like over time (verdict, counts, findings, root
 * digest). `history.html` (and the summary of scan-all) turn it into a trend chart per model. Lines
 * are appended whole; a torn or foreign line is skipped when read, never trusted.
 */
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { findingKey } from './diff.js';
import { esc } from './html.js';
import { htmlPage } from './html-page.js';
import { visible } from './markdown.js';
import { VerdictLevel, type ScanReport } from './schema.js';
import { writeAtomic } from './output-folder.js';

export const HISTORY_FILE = 'history.jsonl';
export const HISTORY_HTML = 'history.html';
export const HISTORY_SCHEMA = 'trigger-scan/history';
export const HISTORY_SCHEMA_VERSION = 1;

export const HistoryEntrySchema = z
  .object({
    schema: z.literal(HISTORY_SCHEMA),
    schemaVersion: z.literal(HISTORY_SCHEMA_VERSION),
    at: z.string().describe('when the scan finished'),
    tool: z.string().describe('trigger-scan version'),
    model: z.object({ name: z.string(), dir: z.string(), rootDigest: z.string() }),
    verdict: VerdictLevel,
    complete: z.boolean().describe('every planned test ran'),
    flagged: z.number().int().min(0),
    suspicious: z.number().int().min(0),
    tests: z.number().int().min(0),
    durationMs: z.number().min(0),
    findings: z.array(z.object({ key: z.string(), level: z.string(), attackSuccess: z.number(), qValue: z.number() })),
  })
  .describe('one line of history.jsonl');

export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

export function historyEntry(r: ScanReport, name: string): HistoryEntry {
  return {
    schema: HISTORY_SCHEMA,
    schemaVersion: HISTORY_SCHEMA_VERSION,
    at: r.run.finishedAt,
    tool: r.tool.version,
    model: { name, dir: r.model.dir, rootDigest: r.model.rootDigest },
    verdict: r.verdict.level,
    complete: true,
    flagged: r.verdict.flagged,
    suspicious: r.verdict.suspicious,
    tests: r.stats.tests,
    durationMs: r.run.durationMs,
    findings: r.findings.map((f) => ({ key: findingKey(f), level: f.level, attackSuccess: f.attackSuccess, qValue: f.qValue })),
  };
}

/** Append entries as whole lines, flushed to disk: a crash leaves at most one torn last line. */
export async function appendHistory(file: string, entries: readonly HistoryEntry[]): Promise<void> {
  if (!entries.length) return;
  try {
    const fh = await open(file, 'a');
    try {
      await fh.write(entries.map((e) => JSON.stringify(e) + '\n').join(''));
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new UserError('E_OUT', `${file}: cannot append to the history (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, file);
  }
}

/** History beyond this many bytes is read from its end: the charts show recent runs. */
const MAX_HISTORY_BYTES = 32 * 1024 * 1024;

/** Every valid entry, oldest first; lines that are torn, foreign or malformed are counted and skipped. */
export async function readHistory(file: string): Promise<{ entries: HistoryEntry[]; skipped: number }> {
  const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return Buffer.alloc(0);
    throw new UserError('E_REPORT', `${file}: cannot read the history (${err.code ?? err.message})`, file);
  });
  const text = bytes.subarray(Math.max(0, bytes.length - MAX_HISTORY_BYTES)).toString('utf8');
  const lines = text.split('\n');
  // Reading from the middle of the file starts mid-line; that line is not an entry.
  if (bytes.length > MAX_HISTORY_BYTES) lines.shift();
  const entries: HistoryEntry[] = [];
  let skipped = 0;
  for (const line of lines) {
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    const r = HistoryEntrySchema.safeParse(value);
    if (r.success) entries.push(r.data);
    else skipped++;
  }
  return { entries, skipped };
}

/** Runs shown per model in a trend chart. */
const TREND_RUNS = 30;
const COLOR: Record<string, string> = { flagged: '#b00020', suspicious: '#a35a00', clean: '#1b6b36', partial: '#5a5f69' };

/**
 * A small SVG chart of one model's runs, oldest left: the bar is the number of findings (flagged
 * dark, suspicious light), the dot the verdict, a ring a changed root digest (the model's files changed).
 */
export function trendChart(entries: readonly HistoryEntry[]): string {
  const runs = entries.slice(-TREND_RUNS);
  if (!runs.length) return '';
  const W = 12;
  const H = 48;
  const maxCount = Math.max(1, ...runs.map((e) => e.flagged + e.suspicious));
  const bar = (n: number) => (n / maxCount) * (H - 16);
  const parts: string[] = [];
  runs.forEach((e, i) => {
    const x = i * W + 2;
    const fh = bar(e.flagged);
    const sh = bar(e.suspicious);
    const title = `<title>${esc(visible(`${e.at}: ${e.verdict}${e.complete ? '' : ' (partial)'}, ${e.flagged} flagged, ${e.suspicious} suspicious, ${e.tests} tests, root ${e.model.rootDigest.slice(0, 12)}`))}</title>`;
    parts.push(`<g>${title}<rect x="${x}" y="${H - 10 - fh}" width="${W - 4}" height="${fh.toFixed(1)}" fill="#b00020"/><rect x="${x}" y="${(H - 10 - fh - sh).toFixed(1)}" width="${W - 4}" height="${sh.toFixed(1)}" fill="#e0a060"/>`);
    const moved = i > 0 && runs[i - 1]!.model.rootDigest !== e.model.rootDigest;
    parts.push(`<circle cx="${x + (W - 4) / 2}" cy="${H - 4}" r="3" fill="${COLOR[e.verdict] ?? '#5a5f69'}"${moved ? ' stroke="#0b57d0" stroke-width="2"' : ''}/></g>`);
  });
  const last = runs[runs.length - 1]!;
  const label = `${runs.length} run(s) of ${last.model.name}: latest ${last.verdict}, ${last.flagged} flagged, ${last.suspicious} suspicious`;
  return `<svg class="trend" role="img" aria-label="${esc(visible(label))}" width="${runs.length * W + 4}" height="${H}" viewBox="0 0 ${runs.length * W + 4} ${H}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

/** Entries grouped by model name, each oldest first. */
export function byModel(entries: readonly HistoryEntry[]): Map<string, HistoryEntry[]> {
  const m = new Map<string, HistoryEntry[]>();
  for (const e of entries) m.set(e.model.name, [...(m.get(e.model.name) ?? []), e]);
  return m;
}

export function renderHistoryHtml(entries: readonly HistoryEntry[]): string {
  const rows = [...byModel(entries)].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, es]) => {
    const last = es[es.length - 1]!;
    return `<tr><td>${esc(visible(name))}</td><td>${trendChart(es)}</td><td>${esc(last.verdict)}${last.complete ? '' : ' (partial)'}</td><td class="num">${es.length}</td><td>${esc(last.at)}</td></tr>`;
  });
  return htmlPage('trigger-scan history', HISTORY_CSS, `<h1>trigger-scan history</h1>
<p class="note">One bar per run, oldest left (last ${TREND_RUNS}): findings (dark: flagged, light: suspicious); the dot is the verdict (green clean, orange suspicious, red flagged, grey partial); a blue ring marks a run whose model files changed. Hover a bar for its run.</p>
<table><thead><tr><th scope="col">model</th><th scope="col">trend</th><th scope="col">latest</th><th scope="col">runs</th><th scope="col">last run</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>`);
}

const HISTORY_CSS = 'body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1a1a1a}main{max-width:1120px;margin:0 auto;padding:12px 20px 40px}table{border-collapse:collapse}th,td{border:1px solid #d4d7dd;padding:5px 8px;text-align:left;vertical-align:middle}th{background:#f5f6f8}td.num{text-align:right}.note{color:#4d4d4d}';

/** Append this run's entries to `<dir>/history.jsonl` and render `<dir>/history.html` from the whole file. */
export async function recordHistory(dir: string, entries: readonly HistoryEntry[]): Promise<{ entries: HistoryEntry[]; files: string[] }> {
  const file = path.join(dir, HISTORY_FILE);
  await appendHistory(file, entries);
  const all = (await readHistory(file)).entries;
  const html = path.join(dir, HISTORY_HTML);
  await writeAtomic(html, renderHistoryHtml(all));
  return { entries: all, files: [file, html] };
}
