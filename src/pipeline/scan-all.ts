/**
 * `trigger-scan scan-all <folder | list file>`: the scan, once per model, one after the other (each
 * uses every core). Each model gets its own report folder; one summary (JSON, Markdown, HTML) says
 * what was found over the shelf, with one exit code. A model that cannot be scanned is recorded as
 * an error and the others go on: a night's run never stops at the first broken folder.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError, isUserError } from '../errors.js';
import { combinedExitCode, EXIT, exitCodeFor, type FailOn } from '../exit-codes.js';
import { makeFolder, writeAtomic } from '../report/output-folder.js';
import { renderAll, type Format } from '../report/render.js';
import type { ScanReport } from '../report/schema.js';
import { byModel, historyEntry, recordHistory, trendChart, type HistoryEntry } from '../report/history.js';
import { buildSummary, type ScanSummary, type SummaryModel } from '../report/summary.js';
import { renderSummaryHtml, renderSummaryMarkdown } from '../report/summary-render.js';
import { scanModel, type ScanOptions } from './scan.js';

export interface ModelEntry {
  /** Folder-safe and unique within the run: the name of the model's report folder. */
  name: string;
  /** The model folder as listed (resolved against the list file's folder). */
  dir: string;
}

/** Report folders of the models live under this subfolder of --out, beside the summary. */
export const MODELS_SUBDIR = 'models';
export const SUMMARY_FILES = { json: 'summary.json', md: 'summary.md', html: 'summary.html' } as const;

const MAX_LIST_BYTES = 1024 * 1024;

const safeName = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_') || 'model';

/** Unique folder names: the second `model` becomes `model-2`. */
function nameEntries(dirs: readonly string[]): ModelEntry[] {
  const used = new Set<string>();
  return dirs.map((dir) => {
    const base = safeName(path.basename(path.resolve(dir)));
    let name = base;
    for (let k = 2; used.has(name); k++) name = `${base}-${k}`;
    used.add(name);
    return { name, dir };
  });
}

/**
 * The models to scan. A folder: every folder in it that is not hidden, sorted by name (a folder
 * that is not a model becomes an error row, not a silent skip). A file: one model folder per line,
 * relative to the file's folder; blank lines and lines starting with `#` are ignored.
 */
export async function listModels(source: string): Promise<ModelEntry[]> {
  const st = await stat(source).catch((err: NodeJS.ErrnoException) => {
    throw new UserError('E_USAGE', `${source}: ${err.code === 'ENOENT' ? 'no such folder or list file' : `cannot read (${err.code ?? err.message})`}`, source);
  });
  let dirs: string[];
  if (st.isDirectory()) {
    const names = (await readdir(source, { withFileTypes: true })).filter((e) => !e.name.startsWith('.')).map((e) => e.name).sort();
    const isDir = await Promise.all(names.map((n) => stat(path.join(source, n)).then((s) => s.isDirectory(), () => false)));
    // A folder holding model files itself is one model, not a shelf of them.
    if (names.some((n, i) => !isDir[i] && (n === 'config.json' || n.endsWith('.onnx') || n.endsWith('.safetensors')))) {
      throw new UserError('E_USAGE', `${source}: this is a model folder; scan-all takes a folder of model folders or a list file (use scan for one model)`, source);
    }
    dirs = names.filter((_, i) => isDir[i]).map((n) => path.join(source, n));
  } else if (st.isFile()) {
    if (st.size > MAX_LIST_BYTES) throw new UserError('E_USAGE', `${source}: list file is larger than 1 MiB; give one model folder per line`, source);
    const base = path.dirname(source);
    dirs = (await readFile(source, 'utf8'))
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => (path.isAbsolute(l) ? l : path.join(base, l)));
  } else {
    throw new UserError('E_USAGE', `${source}: not a folder or a list file`, source);
  }
  if (!dirs.length) throw new UserError('E_USAGE', `${source}: no model folders listed`, source);
  return nameEntries(dirs);
}

export type ModelEvent =
  | { kind: 'start'; index: number; total: number; model: ModelEntry }
  | { kind: 'done'; index: number; total: number; model: ModelEntry; report: ScanReport; files: string[] }
  | { kind: 'error'; index: number; total: number; model: ModelEntry; error: unknown };

export interface ScanAllOptions extends Omit<ScanOptions, 'journal' | 'shard'> {
  /** The run's folder: `models/<name>/` per model, and the summary files. */
  out: string;
  /** Keep each model's results log in its report folder (default on); `resume` continues them. */
  resultsLog?: boolean | undefined;
  resume?: boolean | undefined;
  formats?: readonly Format[] | undefined;
  failOn?: FailOn | undefined;
  /** Per-model options on top of the shared ones (e.g. progress per model). */
  perModel?: ((m: ModelEntry) => Partial<ScanOptions>) | undefined;
  onModel?: ((e: ModelEvent) => void) | undefined;
}

export interface ScanAllResult {
  summary: ScanSummary;
  /** summary.json, summary.md, summary.html, history.jsonl, history.html. */
  files: string[];
}

function modelRow(m: ModelEntry, r: ScanReport, reportPath: string, ms: number): SummaryModel {
  const top = r.findings[0];
  return {
    name: m.name, dir: m.dir, status: 'scanned', verdict: r.verdict.level, complete: r.coverage.complete,
    flagged: r.verdict.flagged, suspicious: r.verdict.suspicious, tests: r.stats.tests,
    top: top ? { text: top.trigger.text, ref: top.trigger.ref, placement: top.placement, level: top.level, attackSuccess: top.attackSuccess, qValue: top.qValue } : null,
    rootDigest: r.model.rootDigest, report: reportPath, durationMs: ms, error: null,
  };
}

function errorRow(m: ModelEntry, err: unknown, ms: number): SummaryModel {
  const error = isUserError(err)
    ? { code: err.code, message: err.message.replace(/\s*\n\s*/g, ' ') }
    : { code: 'E_INTERNAL', message: `internal error (please report): ${(err as Error)?.message ?? String(err)}` };
  return { name: m.name, dir: m.dir, status: 'error', verdict: null, complete: null, flagged: 0, suspicious: 0, tests: 0, top: null, rootDigest: null, report: null, durationMs: ms, error };
}

function skippedRow(m: ModelEntry): SummaryModel {
  return { name: m.name, dir: m.dir, status: 'skipped', verdict: null, complete: false, flagged: 0, suspicious: 0, tests: 0, top: null, rootDigest: null, report: null, durationMs: 0, error: { code: 'E_TIME', message: 'not scanned: the --max-time budget was spent before its turn' } };
}

/** Scan every model, write each one's reports and the summary; never throws for one model's failure. */
export async function scanAll(models: readonly ModelEntry[], source: string, o: ScanAllOptions): Promise<ScanAllResult> {
  const startedAt = new Date();
  const failOn = o.failOn ?? 'flagged';
  const rows: SummaryModel[] = [];
  const codes: number[] = [];
  const history: HistoryEntry[] = [];
  await makeFolder(o.out);
  // A night's --max-time is shared out: each model may use what is left over the models still to go.
  const deadline = o.maxTimeMs !== undefined ? startedAt.getTime() + o.maxTimeMs : undefined;
  for (const [index, m] of models.entries()) {
    const total = models.length;
    const left = deadline !== undefined ? deadline - Date.now() : undefined;
    if (left !== undefined && left <= 0) {
      rows.push(skippedRow(m));
      codes.push(EXIT.partial);
      continue;
    }
    o.onModel?.({ kind: 'start', index, total, model: m });
    const t0 = Date.now();
    try {
      const dir = path.join(o.out, MODELS_SUBDIR, m.name);
      // The scan makes the folder once the model has loaded: a model that fails to load leaves none.
      const journal = o.resultsLog === false ? undefined : { dir, resume: Boolean(o.resume) };
      const maxTimeMs = left !== undefined ? left / (total - index) : undefined;
      const report = await scanModel(m.dir, { ...o, journal, maxTimeMs, ...o.perModel?.(m) });
      const files = await renderAll(report, o.formats ?? ['json', 'md', 'html'], dir);
      rows.push(modelRow(m, report, `${MODELS_SUBDIR}/${m.name}/report.json`, Date.now() - t0));
      codes.push(exitCodeFor(report.verdict.level, failOn, report.coverage.complete));
      history.push(historyEntry(report, m.name));
      o.onModel?.({ kind: 'done', index, total, model: m, report, files });
    } catch (err) {
      rows.push(errorRow(m, err, Date.now() - t0));
      codes.push(isUserError(err) ? EXIT.usage : EXIT.internal);
      o.onModel?.({ kind: 'error', index, total, model: m, error: err });
    }
  }
  const summary = buildSummary({ source, failOn, exitCode: combinedExitCode(codes), models: rows, startedAt, finishedAt: new Date() });
  const recorded = await recordHistory(o.out, history);
  const trends = new Map([...byModel(recorded.entries)].map(([name, es]) => [name, trendChart(es)] as const));
  const files = [...(await writeSummary(summary, o.out, trends)), ...recorded.files];
  return { summary, files };
}

/** summary.json, .md and .html, each rendered before any is written. */
export async function writeSummary(s: ScanSummary, out: string, extras?: ReadonlyMap<string, string>): Promise<string[]> {
  const texts: [string, string][] = [
    [path.join(out, SUMMARY_FILES.json), JSON.stringify(s, null, 2) + '\n'],
    [path.join(out, SUMMARY_FILES.md), renderSummaryMarkdown(s)],
    [path.join(out, SUMMARY_FILES.html), renderSummaryHtml(s, extras)],
  ];
  for (const [file, text] of texts) await writeAtomic(file, text);
  return texts.map(([f]) => f);
}
