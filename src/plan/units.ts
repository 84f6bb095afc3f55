/**
 * Work units: a plan cut into pieces that each can run alone and give the same outcomes in any run.
 * A unit is one control group with every test that is compared with it, so controls travel with
 * the tests that need them: a unit's tests are scored on exactly the data of a whole run, whether
 * the unit ran in this process, before a crash, or in another shard. The units are what a results
 * log records, what a time budget orders by value, and what shards divide.
 */
import type { ControlGroup, ScanPlan } from './plan.js';

export interface WorkUnit {
  /** Position in plan order: the unit's identity in results logs and shards. */
  index: number;
  /** The control group's key. */
  key: string;
  /** Tests compared with this group (indices into plan.tests). */
  tests: number[];
  /**
   * Probes this unit runs (indices into plan.probes): every probe its tests and controls use that
   * no earlier unit runs (the plan shares identical probes; each is run once, by its first unit).
   */
  probes: number[];
}

type UnitPlan = { tests: readonly ScanPlan['tests'][number][]; groups: ReadonlyMap<string, ControlGroup>; probes: readonly unknown[] };

/** Every probe a test reads: its own, its paired control's, and its group's controls. */
export function probesOfTest(plan: UnitPlan, t: number): number[] {
  const test = plan.tests[t]!;
  const group = plan.groups.get(test.group)!;
  return [...test.probes, ...(test.paired ?? []), ...group.controls.flat()];
}

export function planUnits(plan: UnitPlan): WorkUnit[] {
  const keys = [...plan.groups.keys()];
  const testsOf = new Map<string, number[]>(keys.map((k) => [k, []]));
  plan.tests.forEach((t, i) => testsOf.get(t.group)!.push(i));
  const owned = new Set<number>();
  return keys.map((key, index) => {
    const tests = testsOf.get(key)!;
    const probes: number[] = [];
    for (const t of tests) {
      for (const i of probesOfTest(plan, t)) {
        if (owned.has(i)) continue;
        owned.add(i);
        probes.push(i);
      }
    }
    probes.sort((a, b) => a - b);
    return { index, key, tests, probes };
  });
}

/** How much a test is worth in a run that cannot do everything. */
function testValue(t: ScanPlan['tests'][number]): number {
  // A string the model's own search proposed is the likeliest backdoor; a negative control only
  // calibrates (it is never a finding).
  if (t.trigger.tags.includes('discovered')) return 3;
  if (t.trigger.negativeControl) return 0.25;
  return 1;
}

/**
 * Most valuable first, for a time budget: the units whose tests are worth most per probe run
 * (discovered candidates first, then the control groups that test the most triggers per forward
 * pass), ties in plan order.
 */
export function valueOrder(units: readonly WorkUnit[], plan: Pick<UnitPlan, 'tests'>): WorkUnit[] {
  const value = (u: WorkUnit) => u.tests.reduce((s, t) => s + testValue(plan.tests[t]!), 0) / Math.max(1, u.probes.length);
  return [...units].sort((a, b) => value(b) - value(a) || a.index - b.index);
}

export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

/**
 * The units shard `index` of `count` runs: the largest units first, each to the shard with the
 * least work so far (ties to the lower shard). Deterministic: every shard computes the same split.
 */
export function shardUnits(units: readonly WorkUnit[], shard: Shard): Set<number> {
  const load = new Array<number>(shard.count).fill(0);
  const mine = new Set<number>();
  for (const u of [...units].sort((a, b) => b.probes.length - a.probes.length || a.index - b.index)) {
    let best = 0;
    for (let k = 1; k < shard.count; k++) if (load[k]! < load[best]!) best = k;
    load[best]! += Math.max(1, u.probes.length);
    if (best === shard.index) mine.add(u.index);
  }
  return mine;
}

/** Tests whose every probe has an outcome, in plan order. */
export function completeTests(plan: UnitPlan, hasOutcome: (probe: number) => boolean): number[] {
  return plan.tests.map((_, t) => t).filter((t) => probesOfTest(plan, t).every(hasOutcome));
}

/**
 * Sequential testing (score/sequential.ts) runs every unit in stages. Stage `stage` (0, 1, 2) of a
 * unit: its probes in `needed`, indexed `stage × units.length + u.index` so that a results log tells
 * the stages apart, keyed `<group>@<tag>`; units with nothing to run are left out.
 */
export function stageUnits(units: readonly WorkUnit[], needed: ReadonlySet<number>, stage: number, tag: string): WorkUnit[] {
  return units
    .map((u) => ({ ...u, index: stage * units.length + u.index, key: `${u.key}@${tag}`, probes: u.probes.filter((i) => needed.has(i)) }))
    .filter((u) => u.probes.length);
}

/** The screening stage: every test's own probes (the trigger at every baseline), none of the controls. */
export function screeningUnits(plan: UnitPlan, units: readonly WorkUnit[]): WorkUnit[] {
  return stageUnits(units, new Set(plan.tests.flatMap((t) => t.probes)), 0, 'screen');
}

/** A later stage: the probes the tests `tests` read that no earlier stage ran (`ran`). */
export function continuationUnits(plan: UnitPlan, units: readonly WorkUnit[], tests: Iterable<number>, ran: ReadonlySet<number>, stage: number, tag: string): WorkUnit[] {
  const needed = new Set<number>();
  for (const t of tests) for (const i of probesOfTest(plan, t)) if (!ran.has(i)) needed.add(i);
  return stageUnits(units, needed, stage, tag);
}
