import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { fraction, oneOf, wholeNumber } from '../option-parsers.js';
import { PLACEMENTS } from '../../probes/schema.js';
import type { Placement } from '../../probes/types.js';
import type { ScanReport } from '../../report/schema.js';
import { readFile } from 'node:fs/promises';
import { UserError } from '../../errors.js';
import { PIN_MODES, type PinMode } from '../../provenance/integrity/pins.js';
import { DEFAULT_FORMATS, FORMATS, parseFormats, type Format } from '../../report/render.js';
import type { Io } from '../output.js';
import { progressReporter } from '../progress.js';

export const FAIL_ON = ['none', 'suspicious', 'flagged'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export function exitCodeFor(report: ScanReport, failOn: FailOn): 0 | 1 {
  if (failOn === 'none') return 0;
  const { level } = report.verdict;
  if (level === 'flagged') return 1;
  return level === 'suspicious' && failOn === 'suspicious' ? 1 : 0;
}

const int = wholeNumber;
const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
const placements = (v: string, prev: Placement[] = []): Placement[] => {
  const out = [...prev];
  for (const p of v.split(',').map((s) => s.trim())) {
    if (!(PLACEMENTS as readonly string[]).includes(p)) throw new InvalidArgumentError(`"${p}" is not one of ${PLACEMENTS.join(', ')}`);
    out.push(p as Placement);
  }
  return out;
};

export interface ScanCliOptions {
  pack?: string[];
  baselines?: string[];
  placements?: Placement[];
  controls?: number;
  maxNewTokens?: number;
  maxBaselines?: number;
  fdr?: number;
  minAttackSuccess?: number;
  seed?: number;
  threads?: number;
  batchSize?: number;
  failOn: FailOn;
  out: string;
  json?: boolean;
  graph?: string;
  fromSafetensors?: boolean;
  frame?: string;
  progress: boolean;
  pins?: string;
  pin: PinMode;
  pinName?: string;
  expect?: string[];
  signature?: string;
  key?: string;
  trustCert?: string;
  attest?: string;
  format: Format[];
  discover: boolean;
  discoverMinutes?: number;
  discoverCandidates?: number;
  base?: string;
}

export function addScanOptions(cmd: Command): Command {
  return cmd
    .argument('<model-dir>', 'model folder (Hugging Face layout: ONNX graph, tokenizer.json, config.json)')
    .option('--pack <name|file>', 'probe pack: built-in name or a .yaml/.json file; repeatable (default: every built-in pack)', collect)
    .option('--baselines <name|file>', 'take baseline prompts from these packs only; repeatable', collect)
    .option('--placements <list>', `only these placements (${PLACEMENTS.join(', ')})`, placements)
    .option('--controls <n>', 'random control strings per trigger kind and placement', int('--controls', 2))
    .option('--max-new-tokens <n>', 'tokens generated per answer', int('--max-new-tokens', 1))
    .option('--max-baselines <n>', 'use only the first N baseline prompts (quick runs)', int('--max-baselines', 5))
    .option('--fdr <q>', 'false-discovery rate for Benjamini–Hochberg', fraction('--fdr'))
    .option('--min-attack-success <share>', 'share of baselines a trigger must take over to be flagged', fraction('--min-attack-success'))
    .option('--seed <n>', 'seed for controls and placements', int('--seed', 0))
    .option('--threads <n>', 'ONNX Runtime threads (default: all cores)', int('--threads', 1))
    .option('--batch-size <n>', 'prompts per forward pass', int('--batch-size', 1))
    .option('--fail-on <level>', `exit 1 when the verdict reaches this level (${FAIL_ON.join(', ')})`, oneOf(FAIL_ON), 'flagged')
    .option('--out <dir>', 'report folder', 'reports')
    .option('--format <list>', `report formats (${FORMATS.join(', ')}, or all)`, (v: string) => parseFormats(v), [...DEFAULT_FORMATS])
    .option('--json', 'print report.json on stdout instead of the summary')
    .option('--graph <file>', 'ONNX graph to use, relative to the model folder')
    .option('--from-safetensors', 'build the graph from config.json + safetensors even when the folder has an ONNX graph')
    .option('--frame <text>', 'plain prompt frame with {prompt} instead of the chat template')
    .option('--no-progress', 'no progress output')
    .option('--pins <file>', 'trust-on-first-use pin file (default: $TRIGGER_SCAN_PINS or ~/.config/trigger-scan/pins.json)')
    .option('--pin <mode>', `pin mode (${PIN_MODES.join(', ')})`, oneOf(PIN_MODES), 'accept-new')
    .option('--pin-name <name>', 'pin the model under this name instead of its folder path')
    .option('--expect <sha256|file>', 'digest (or SHA256SUMS / model.sig) published by an independent source; repeatable', collect)
    .option('--signature <model.sig>', 'OpenSSF model-signing bundle to verify (default: model.sig in the folder, if any)')
    .option('--key <pem>', 'public key for --signature')
    .option('--trust-cert <pem>', 'trusted CA certificate for certificate-signed bundles')
    .option('--attest <key.pem>', 'write a signed in-toto attestation of the result (report.intoto.json)')
    .option('--no-discover', 'only the pack triggers: no search for triggers no pack lists')
    .option('--discover-minutes <n>', 'time budget of trigger discovery, in minutes', int('--discover-minutes', 1))
    .option('--discover-candidates <n>', 'discovered candidates confirmed by the scan test', int('--discover-candidates', 1))
    .option('--base <dir>', 'base model folder this one was fine-tuned from: token-embedding drift seeds discovery');
}

async function readPem(file: string): Promise<string> {
  return readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UserError('E_KEY', `${file}: cannot read key or certificate (${err.code ?? err.message})`, file);
  });
}

export async function runScan(dir: string, o: ScanCliOptions, io: Io, mode: 'scan' | 'hunt' = 'scan'): Promise<number> {
  const { scanModel } = await import('../../pipeline/scan.js');
  const { huntModel } = await import('../../pipeline/hunt.js');
  const { writeReports } = await import('../../report/write-reports.js');
  const run = mode === 'hunt' ? huntModel : scanModel;
  const report = await run(dir, {
    packs: o.pack,
    baselines: o.baselines,
    placements: o.placements,
    controls: o.controls,
    maxNewTokens: o.maxNewTokens,
    maxBaselines: o.maxBaselines,
    fdr: o.fdr,
    minAttackSuccess: o.minAttackSuccess,
    seed: o.seed,
    threads: o.threads,
    batchSize: o.batchSize,
    graph: o.graph,
    fromSafetensors: o.fromSafetensors,
    frame: o.frame,
    pins: { file: o.pins, mode: o.pin, name: o.pinName },
    expect: o.expect,
    signature: o.signature || o.key || o.trustCert ? { path: o.signature, publicKeyPem: o.key ? await readPem(o.key) : undefined, trustCertPem: o.trustCert ? await readPem(o.trustCert) : undefined } : undefined,
    discover: o.discover,
    discoverMinutes: o.discoverMinutes,
    discoverCandidates: o.discoverCandidates,
    base: o.base,
    onProgress: o.progress ? progressReporter(io, mode) : undefined,
  });
  const outDir = path.resolve(o.out);
  // report.json is always written: it is the source the other formats and `--attest` are made from.
  const formats: Format[] = o.format.includes('json') ? o.format : ['json', ...o.format];
  const files = await writeReports(report, outDir, formats);
  if (o.attest) {
    const { attestReport } = await import('../../attest/attestation.js');
    const envelope = await attestReport({
      reportPath: files.find((f) => f.endsWith('report.json'))!,
      keyPem: await readPem(o.attest),
      subject: { name: path.basename(path.resolve(dir)), rootDigest: report.model.rootDigest, directoryDigest: report.model.directoryDigest },
      packs: report.packs.map((p) => ({ name: p.name, digest: p.digest })),
    });
    const { writeAtomic } = await import('../../report/render.js');
    const att = path.join(outDir, 'report.intoto.json');
    await writeAtomic(att, JSON.stringify(envelope, null, 2) + '\n');
    files.push(att);
  }
  if (o.json) {
    io.out(JSON.stringify(report, null, 2) + '\n');
  } else {
    io.out(`${report.verdict.level.toUpperCase()}: ${report.verdict.summary}\n`);
    for (const f of report.findings.slice(0, 10)) {
      io.out(`  ${f.level.padEnd(10)} ${JSON.stringify(f.trigger.text)} @${f.placement}${f.category ? ` (${f.category})` : ''}  attack success ${Math.round(f.attackSuccess * 100)}%  q=${f.qValue.toExponential(1)}\n`);
    }
    io.out(`reports: ${files.map((f) => path.relative(process.cwd(), f) || f).join(', ')}\n`);
  }
  return exitCodeFor(report, o.failOn);
}
