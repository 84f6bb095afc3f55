/**
 * A plan as the score and report stages read it, without what only the engine needs (token ids):
 * the form a results log stores, so that `merge` can score shards without the model, and a resumed
 * scan can check that it rebuilt exactly the plan it started.
 */
import type { Turn } from '../model/prompt-format.js';
import type { Baseline } from '../probes/types.js';
import type { ControlGroup, PlannedTest } from './plan.js';

/** What scoring and the report read of a plan; a ScanPlan is one. */
export interface ScoringPlan {
  baselines: readonly { baseline: Baseline }[];
  /** `turn` is needed (for examples) only on the probes tests show; stored plans keep only those. */
  probes: readonly { inserted: string; turn?: Turn | undefined }[];
  tests: readonly PlannedTest[];
  groups: ReadonlyMap<string, ControlGroup>;
}

/** JSON: groups as a list, probe turns only where a test shows them. */
export interface StoredPlan {
  baselines: Baseline[];
  probes: { inserted: string; turn?: Turn }[];
  tests: PlannedTest[];
  groups: ControlGroup[];
}

export function storePlan(plan: ScoringPlan): StoredPlan {
  const shown = new Set<number>();
  for (const t of plan.tests) for (const i of t.probes) shown.add(i);
  return {
    baselines: plan.baselines.map((b) => b.baseline),
    probes: plan.probes.map((p, i) => (shown.has(i) && p.turn ? { inserted: p.inserted, turn: p.turn } : { inserted: p.inserted })),
    tests: [...plan.tests],
    groups: [...plan.groups.values()],
  };
}

export function loadStoredPlan(s: StoredPlan): ScoringPlan {
  return { baselines: s.baselines.map((baseline) => ({ baseline })), probes: s.probes, tests: s.tests, groups: new Map(s.groups.map((g) => [g.key, g])) };
}

/** The plan with only some of its tests (the ones that ran), everything else as it was. */
export function withTests(plan: ScoringPlan, tests: readonly number[]): ScoringPlan {
  return { ...plan, tests: tests.map((t) => plan.tests[t]!) };
}
