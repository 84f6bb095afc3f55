import type { ScanPlan } from '../plan/plan.js';
import type { RunStats } from './causal-lm.js';

export interface CleanOutcome {
  /** Greedy answer (causal) or predicted label (classifier). */
  output: string;
  tokens: number[];
}

export interface ProbeOutcome {
  /** Mean JS divergence over the clean answer, teacher-forced (causal) or over labels (classifier). */
  divergence: number;
  /** JS divergence of the first answer token's distribution. */
  firstDivergence: number;
  output: string;
  /** The probe's output differs from its baseline's clean output. */
  changed: boolean;
}

/** The engine's savings, each on by default; switched off only to measure what one is worth (npm run bench). */
export interface EngineSwitches {
  /** Score divergences in JS instead of onnxruntime. */
  divergenceInJs?: boolean | undefined;
  /** Keep finished rows in the decoding batch. */
  keepFinishedRows?: boolean | undefined;
  /** Read every row whole even when a batch's rows share their beginning. */
  noSharedPrefix?: boolean | undefined;
}

export interface ExecuteOptions {
  batchSize: number;
  maxNewTokens: number;
  onProgress?: ((done: number, total: number, phase: string) => void) | undefined;
  engine?: EngineSwitches | undefined;
}

/**
 * What scoring reads: the clean outcome per baseline and the outcome per probe of the plan. A probe
 * the run stage never ran (sequential testing stops tests early) is undefined.
 */
export interface Execution {
  clean: CleanOutcome[];
  probes: (ProbeOutcome | undefined)[];
  stats: RunStats;
}

/** A plan opened on a model: the clean references are computed; probes run in as many calls as the caller wants. */
export interface RunSession extends Execution {
  /** Run these probes (indices into the plan's probes); their outcomes fill `probes`. */
  run(probes: readonly number[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The run stage's one contract: the clean references of a plan first, then any of its probes. One
 * implementation per task (causal LM, sequence classifier), chosen by the task registry.
 */
export interface ModelRunner {
  open(plan: ScanPlan, o: ExecuteOptions): Promise<RunSession>;
}

/** Every probe of a plan, in one go. */
export async function executePlan(runner: ModelRunner, plan: ScanPlan, o: ExecuteOptions): Promise<Execution> {
  const s = await runner.open(plan, o);
  try {
    await s.run(plan.probes.map((_, i) => i));
    return { clean: s.clean, probes: s.probes, stats: s.stats };
  } finally {
    await s.close();
  }
}

/** Progress over a run whose total grows as work is asked for (a sequential scan adds its second stage). */
export function progressCounter(o: ExecuteOptions) {
  let done = 0;
  let total = 0;
  return {
    plan: (n: number) => void (total += n),
    tick: (n: number, phase: string) => {
      done += n;
      o.onProgress?.(done, total, phase);
    },
  };
}
