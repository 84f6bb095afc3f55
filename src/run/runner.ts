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

export interface ExecuteOptions {
  batchSize: number;
  maxNewTokens: number;
  onProgress?: ((done: number, total: number, phase: string) => void) | undefined;
}

export interface Execution {
  clean: CleanOutcome[];
  probes: ProbeOutcome[];
  stats: RunStats;
}

/**
 * The run stage's one contract: every probe of a plan through the model, the clean references
 * first. One implementation per task (causal LM, sequence classifier), chosen by the task registry.
 */
export interface ModelRunner {
  execute(plan: ScanPlan, o: ExecuteOptions): Promise<Execution>;
}
