/**
 * The run stage over work units: the clean references first, then each unit not done yet, most
 * valuable first, each recorded as it finishes (the results log, when there is one). A time budget
 * skips the units that would not finish in time; a shard runs only its own units. With sequential
 * testing the units come in stages: the screening units, then (once every one of them is done) the
 * units that `next` derives from the outcomes so far, again until it asks for nothing new, so a
 * resumed scan derives the same.
 */
import type { ScanPlan } from '../plan/plan.js';
import { valueOrder, type WorkUnit } from '../plan/units.js';
import type { RunStats } from '../run/causal-lm.js';
import type { CleanReferences, EngineSwitches, ProbeOutcome, RunSession } from '../run/runner.js';
import type { Prepared } from './prepare.js';
import type { TestSettings } from './scan.js';

export interface UnitResult {
  unit: number;
  key: string;
  probes: number[];
  outcomes: ProbeOutcome[];
  stats: RunStats;
}

export interface ExecuteJob {
  /** Clean references recorded by an earlier run of this scan (resume). */
  recorded?: CleanReferences | undefined;
  /** Units an earlier run finished (resume). */
  done?: ReadonlyMap<number, UnitResult> | undefined;
  /** The units this run may do (a shard's); default all. */
  assigned?: ReadonlySet<number> | undefined;
  /** Epoch milliseconds by which the run must have finished its units (--max-time). */
  deadline?: number | undefined;
  onClean?: ((c: CleanReferences) => Promise<void>) | undefined;
  onUnit?: ((u: UnitResult) => Promise<void>) | undefined;
  onProgress?: ((done: number, total: number, phase: string) => void) | undefined;
  /** The clock deadlines are read from (tests). */
  now?: (() => number) | undefined;
  engine?: EngineSwitches | undefined;
}

/**
 * The later stages of sequential testing: every unit after the first stage that the outcomes so far
 * call for (a pure function of them: a resumed run derives the same units), asked again after each
 * stage is done.
 */
export type NextStage = (references: CleanReferences, done: ReadonlyMap<number, UnitResult>) => WorkUnit[];

export interface Executed {
  references: CleanReferences;
  /** Every finished unit: recorded ones and this run's. */
  units: Map<number, UnitResult>;
  /** Units left for want of time. */
  skipped: number[];
}

export async function executeUnits(
  p: Pick<Prepared, 'profile' | 'model'>,
  plan: ScanPlan,
  units: readonly WorkUnit[],
  s: Pick<TestSettings, 'batchSize' | 'maxNewTokens'>,
  job: ExecuteJob,
  next?: NextStage,
): Promise<Executed> {
  const done = new Map(job.done ?? []);
  const mine = (u: WorkUnit) => !done.has(u.index) && (!job.assigned || job.assigned.has(u.index));
  const now = job.now ?? Date.now;
  const t0 = now();
  let session: RunSession | undefined;
  let references = job.recorded;
  let total = plan.baselines.length;
  let progress = 0;
  const open = async (): Promise<RunSession> => {
    if (session) return session;
    session = await p.profile.runner(p.model).start(
      plan,
      { batchSize: s.batchSize, maxNewTokens: s.maxNewTokens, engine: job.engine, onProgress: job.onProgress && ((d, t, phase) => job.onProgress!(Math.round((d / t) * plan.baselines.length), total, phase)) },
      job.recorded,
    );
    progress = plan.baselines.length;
    if (!job.recorded) await job.onClean?.(session.references);
    references = session.references;
    return session;
  };
  // Time per probe, measured: first from the clean answers (a generation each), then from the units.
  let msPerProbe = 0;
  let ranProbes = 0;
  let ranMs = 0;
  const skipped: number[] = [];
  const runStage = async (stage: readonly WorkUnit[]) => {
    const todo = valueOrder(stage, plan).filter(mine);
    total += todo.reduce((a, u) => a + u.probes.length, 0);
    for (const u of todo) {
      if (job.deadline !== undefined && now() + u.probes.length * msPerProbe > job.deadline) {
        skipped.push(u.index);
        continue;
      }
      const start = now();
      const r = await (await open()).probes(u.probes);
      const result: UnitResult = { unit: u.index, key: u.key, probes: u.probes, outcomes: r.outcomes, stats: r.stats };
      await job.onUnit?.(result);
      done.set(u.index, result);
      ranProbes += u.probes.length;
      ranMs += now() - start;
      msPerProbe = ranMs / Math.max(1, ranProbes);
      progress += u.probes.length;
      job.onProgress?.(progress, total, 'probes');
    }
  };
  try {
    // A log that holds everything needs no model work at all: the session opens only for work.
    if (!references || units.some(mine)) {
      await open();
      if (!job.recorded) msPerProbe = (now() - t0) / Math.max(1, plan.baselines.length);
    }
    await runStage(units);
    let stage = units;
    while (next && stage.every((u) => done.has(u.index))) {
      stage = next(references!, done).filter((u) => !done.has(u.index));
      if (!stage.length) break;
      await runStage(stage);
    }
    return { references: references ?? (await open()).references, units: done, skipped };
  } finally {
    await (session as RunSession | undefined)?.close();
  }
}
