import path from 'node:path';
import type { Command } from 'commander';
import { EXIT, exitCodeFor } from '../../exit-codes.js';
import { DISCOVERY_OPTIONS, INTEGRITY_OPTIONS, JOB_OPTIONS, MODEL_OPTIONS, OUTPUT_OPTIONS, PIN_OPTIONS, REPORT_OPTIONS, RUN_OPTIONS, SCAN_OPTIONS, type ScanAllCliOptions } from '../option-groups.js';
import { createLog } from '../log.js';
import { addGroups, pick } from '../options.js';
import type { Io } from '../output.js';
import { trustAuditOptions } from '../provenance-options.js';
import { printVerdict, scanOptionsFrom } from './scan.js';

/**
 * `scan-all <folder | list file>`: the scan over many models, with the scan's options (those that
 * name one model's files, --graph, --expect and --pin-name, and --shard are left out).
 */
export function addScanAllCommand(program: Command, io: Io, setCode: (c: number) => void): void {
  const cmd = program
    .command('scan-all')
    .description('scan every model in a folder (or listed in a file, one folder per line): a report per model, one summary, one exit code')
    .argument('<models>', 'a folder of model folders, or a file listing model folders');
  const { graph: _graph, ...model } = MODEL_OPTIONS;
  const { attest: _attest, ...report } = REPORT_OPTIONS;
  addGroups(cmd, SCAN_OPTIONS, DISCOVERY_OPTIONS, RUN_OPTIONS, JOB_OPTIONS, model, OUTPUT_OPTIONS, report, pick(PIN_OPTIONS, 'pins', 'pin'), pick(INTEGRITY_OPTIONS, 'signature', 'key', 'trustCert')).action(
    async (source: string, o: ScanAllCliOptions, c: Command) => setCode(await runScanAll(source, o, io, c.getOptionValueSource('pin') === 'cli')),
  );
}

export async function runScanAll(source: string, o: ScanAllCliOptions, io: Io, pinGiven = false): Promise<number> {
  const { listModels, scanAll, MODELS_SUBDIR } = await import('../../pipeline/scan-all.js');
  const { prepareOutputFolder } = await import('../../report/output-folder.js');
  const { acquireLock } = await import('../../jobs/lock.js');
  // One set of keys and pin options for the shelf (no per-model policy or pin name); each model's pin
  // name is its folder's, as in the library.
  const trust = await trustAuditOptions(source, { ...o, expect: undefined, pinName: undefined }, pinGiven);
  const log = createLog(io, o);
  const models = await listModels(source);
  const out = await prepareOutputFolder(o.out);
  const lock = await acquireLock(out.dir, log.warn);
  try {
    const t0 = Date.now();
    log.emit({ event: 'start', command: 'scan-all', models: models.length, out: out.dir });
    const { summary, files } = await scanAll(models, source, {
      ...scanOptionsFrom(o, trust),
      out: out.dir,
      resultsLog: o.resultsLog,
      resume: o.resume,
      formats: o.format.includes('json') ? o.format : ['json', ...o.format],
      failOn: o.failOn,
      perModel: (m) => ({ onProgress: log.progress(m.name, o.progress) }),
      onNotice: log.warn,
      onModel: (e) => {
        const at = `[${e.index + 1}/${e.total}] ${e.model.name}`;
        if (e.kind === 'start') {
          log.emit({ event: 'start', command: 'scan', model: e.model.dir, out: path.join(out.dir, MODELS_SUBDIR, e.model.name) });
          if (log.format === 'text' && !log.quiet) io.err(`${at}: scanning ${e.model.dir}\n`);
        } else if (e.kind === 'done') {
          log.findings(e.model.dir, e.report);
          log.emit({ event: 'end', command: 'scan', model: e.model.dir, verdict: e.report.verdict.level, exitCode: exitCodeFor(e.report.verdict.level, o.failOn, e.report.coverage.complete), files: e.files, durationMs: e.report.run.durationMs });
          if (!o.json && log.results) printVerdict(io, e.report, `${at}: `);
        } else {
          const err = e.error as Error;
          const internal = !(err && err.name === 'UserError');
          const oneLine = (err?.message ?? String(err)).replace(/\s*\n\s*/g, ' ');
          // A model that could not be scanned is a result of the night (its row on stdout) and, for a
          // collector or a bug report, a log line.
          if (log.format === 'json' || internal) {
            log.emit({ event: 'error', exitCode: internal ? EXIT.internal : EXIT.usage, message: `${e.model.dir}: ${internal ? `internal error (please report): ${err?.stack ?? String(err)}` : oneLine}` });
          }
          if (!o.json && log.results) io.out(`${at}: ERROR: ${oneLine}\n`);
        }
      },
    });
    log.emit({ event: 'end', command: 'scan-all', exitCode: summary.exitCode, files, durationMs: Date.now() - t0 });
    if (o.json) io.out(JSON.stringify(summary, null, 2) + '\n');
    else if (log.results) {
      const t = summary.totals;
      io.out(`${t.models} model(s): ${t.flagged} flagged, ${t.suspicious} suspicious, ${t.clean} clean, ${t.errors} error(s)${t.skipped ? `, ${t.skipped} skipped (--max-time)` : ''}\n`);
      io.out(`summary: ${files.map((f) => path.relative(process.cwd(), f) || f).join(', ')}\n`);
    }
    return summary.exitCode;
  } finally {
    await lock.release();
  }
}
