/**
 * `trigger-scan merge <shard folders...>`: the results logs of the shards of one scan, joined and
 * scored as one: the same report.json as the scan run unsharded (apart from timestamps), without the
 * model (each log carries the scan's plan and context). Shards must be of the same scan (same planned
 * work) and each index must appear once; missing shards give a partial report that says so.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { readResultsLog, RESULTS_LOG, type HeaderRecord, type LogContents } from '../jobs/results-log.js';
import type { ScanReport } from '../report/schema.js';
import type { CleanReferences } from '../run/runner.js';
import type { UnitResult } from './execute.js';
import { finishReport, scoreState } from './finish.js';
import type { ScanState } from './state.js';

export interface MergeResult {
  report: ScanReport;
  /** Shard indices that no input provided (the report is then partial). */
  missing: number[];
  /** Things the operator should know (clean answers that differ between machines). */
  notices: string[];
}

async function logFile(input: string): Promise<string> {
  const st = await stat(input).catch(() => undefined);
  if (!st) throw new UserError('E_USAGE', `${input}: no such shard folder or results log`, input);
  return st.isDirectory() ? path.join(input, RESULTS_LOG) : input;
}

export async function mergeShards(inputs: readonly string[]): Promise<MergeResult> {
  if (!inputs.length) throw new UserError('E_USAGE', 'merge: give the shard folders (or their results.log files)');
  const started = new Date();
  const logs: { file: string; log: LogContents; header: HeaderRecord<ScanState> }[] = [];
  for (const input of inputs) {
    const file = await logFile(input);
    const log = await readResultsLog(file);
    if (!log.header) throw new UserError('E_USAGE', `${file}: not a results log of a scan (no header record)`, file);
    logs.push({ file, log, header: log.header as HeaderRecord<ScanState> });
  }
  const first = logs[0]!;
  for (const l of logs.slice(1)) {
    if (l.header.work !== first.header.work || l.header.identity !== first.header.identity) {
      throw new UserError('E_MERGE', `${l.file}: not a shard of the same scan as ${first.file} (the model, packs, settings or discovered candidates differ)`, l.file);
    }
  }
  const count = first.header.shard?.count ?? 1;
  const seen = new Map<number, string>();
  for (const l of logs) {
    const s = l.header.shard ?? { index: 0, count: 1 };
    if (s.count !== count) throw new UserError('E_MERGE', `${l.file}: shard ${s.index}/${s.count} does not belong with ${first.file}'s ${count} shards`, l.file);
    const prev = seen.get(s.index);
    if (prev) throw new UserError('E_MERGE', `${l.file}: shard ${s.index}/${count} is given twice (also ${prev})`, l.file);
    seen.set(s.index, l.file);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
  // Lowest shard first: its clean references and its machine's thread count stand for the scan.
  logs.sort((a, b) => (a.header.shard?.index ?? 0) - (b.header.shard?.index ?? 0));
  const withClean = logs.find((l) => l.log.clean);
  if (!withClean) throw new UserError('E_MERGE', `${first.file}: no shard finished its clean references; nothing to merge`, first.file);
  const references = withClean.log.clean!.references as CleanReferences;
  const notices: string[] = [];
  for (const l of logs) {
    const c = l.log.clean?.references as CleanReferences | undefined;
    if (c && JSON.stringify(c.clean.map((x) => x.output)) !== JSON.stringify(references.clean.map((x) => x.output))) {
      notices.push(`${l.file}: its clean answers differ from ${withClean.file}'s (another CPU or engine build); the report uses ${withClean.file}'s`);
    }
  }
  const units = new Map<number, UnitResult>();
  for (const l of logs) for (const [k, u] of l.log.units) if (!units.has(k)) units.set(k, u as unknown as UnitResult);
  const state = logs[0]!.header.state;
  const scored = scoreState(state, references, units, 'shards-missing');
  const report = finishReport(state, scored, references, { threads: logs[0]!.header.threads, startedAt: started, finishedAt: new Date() });
  return { report, missing, notices };
}
