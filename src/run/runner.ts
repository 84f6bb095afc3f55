import type { ScanPlan } from '../plan/plan.js';
import type { RunStats } from './causal-lm.js';

export interface CleanOutcome {
  /** Greedy answer (causal) or predicted label (classifier). */
  output: string;
  tokens: number[];
  /** What every probe of this baseline is teacher-forced over: the answer through its end-of-sequence token (causal); empty for classifiers. */
  continuation: number[];
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

/** What the run stage hands on: outcomes and engine counters, plain data (no engine types). */
export interface Execution {
  clean: CleanOutcome[];
  /** One per planned probe; undefined for a probe that did not run (a time budget, a shard). */
  probes: (ProbeOutcome | undefined)[];
  stats: RunStats;
}

/** The clean references of a plan, as computed once (and as a results log keeps them). */
export interface CleanReferences {
  clean: CleanOutcome[];
  /** What computing them cost. */
  stats: RunStats;
}

/**
 * The run stage's one contract, in two steps so that a scan can be cut into work units (resumed
 * after a crash, split into shards, stopped by a time budget): `start` computes the clean
 * references (or rebuilds what the probes need from recorded ones), `probes` runs one set of probes.
 * A set's outcomes depend only on the set, never on what ran before it, so a unit gives the same
 * outcomes in any run. One implementation per task (causal LM, sequence classifier), chosen by the
 * task registry.
 */
export interface ModelRunner {
  start(plan: ScanPlan, o: ExecuteOptions, recorded?: CleanReferences): Promise<RunSession>;
}

export interface RunSession {
  readonly references: CleanReferences;
  /** Outcomes in the order of `indices` (into plan.probes), and the counters they cost. */
  probes(indices: readonly number[]): Promise<{ outcomes: ProbeOutcome[]; stats: RunStats }>;
  /** Frees what the session holds beside the model (the row kernels' sessions). */
  close(): Promise<void>;
}

const STAT_KEYS = ['forwardPasses', 'tokensIn', 'prefillTokens', 'decodeTokens', 'runMs', 'stepRunMs'] as const satisfies readonly (keyof RunStats)[];

const combine = (a: RunStats, b: RunStats, sign: 1 | -1): RunStats => Object.fromEntries(STAT_KEYS.map((k) => [k, a[k] + sign * b[k]])) as unknown as RunStats;

export const zeroStats = (): RunStats => ({ forwardPasses: 0, tokensIn: 0, prefillTokens: 0, decodeTokens: 0, runMs: 0, stepRunMs: 0 });

export function addStats(a: RunStats, b: RunStats): RunStats {
  return combine(a, b, 1);
}

/** The counters an engine added while `fn` ran. */
export async function measured<T>(stats: RunStats, fn: () => Promise<T>): Promise<{ value: T; stats: RunStats }> {
  const before = { ...stats };
  const value = await fn();
  return { value, stats: combine(stats, before, -1) };
}

/** Every probe of a plan, in one go (a library caller with no units, logs or screening). */
export async function executePlan(runner: ModelRunner, plan: ScanPlan, o: ExecuteOptions): Promise<Execution> {
  const s = await runner.start(plan, o);
  try {
    const r = await s.probes(plan.probes.map((_, i) => i));
    return { clean: s.references.clean, probes: r.outcomes, stats: addStats(s.references.stats, r.stats) };
  } finally {
    await s.close();
  }
}
