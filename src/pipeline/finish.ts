/**
 * score → verdict → report from a scan's state and its finished units: the last stage of every
 * scan, of a resumed one, and of `merge` (which has no model). Tests whose probes did not all run
 * (a time budget, a missing shard) are left out and listed; the verdict of such a scan says partial.
 *
 * Sequential testing lives here too, as two stages of work units: every unit's probes on the
 * screening slice first; then, decided from those outcomes alone, the rest of the probes of the
 * tests that go on. The decision is a pure function of recorded outcomes, so a resumed scan, and
 * the report of any run, derive the same stopped tests and the same second-stage units.
 */
import { loadStoredPlan, withTests, type ScoringPlan } from '../plan/stored-plan.js';
import { completeTests, continuationUnits, planUnits, probesOfTestAt, screeningUnits, type WorkUnit } from '../plan/units.js';
import type { Detector } from '../probes/types.js';
import { buildReport } from '../report/build-report.js';
import type { Coverage, ScanReport } from '../report/schema.js';
import type { RunStats } from '../run/causal-lm.js';
import { addStats, type CleanReferences, type ProbeOutcome } from '../run/runner.js';
import { scoreTests, selectFindings, selectSteering, type ScoreOptions, type Screening, type TestResult } from '../score/score-tests.js';
import { continuesAfterScreen, screeningSlice } from '../score/sequential.js';
import { modelVerdict, type ModelVerdict } from '../score/verdict.js';
import type { NextStage, UnitResult } from './execute.js';
import type { ScanState } from './state.js';

export interface Scored {
  plan: ScoringPlan;
  results: TestResult[];
  findings: TestResult[];
  steering: TestResult[];
  verdict: ModelVerdict;
  coverage: Coverage;
  stats: RunStats;
  /** One per planned probe; undefined for a probe that did not run. */
  outcomes: (ProbeOutcome | undefined)[];
  /** Sequential testing: the slice and the scored tests (indices into `plan.tests`) stopped after it. */
  screen: Screening | undefined;
  probesRun: number;
}

export type IncompleteReason = Coverage['reason'];

/** What scoring needs besides the outcomes: the plan, the detectors, the settings. */
export interface ScoringInputs {
  plan: ScoringPlan;
  detectors: readonly Detector[];
  options: Omit<ScoreOptions, 'screen'>;
  fileSeverities: readonly string[];
  /** Baselines of the screening slice; 0: every test on every baseline. */
  screenBaselines: number;
}

/** The slice size a scan screens on: the one asked for (default 0, off: see src/score/sequential.ts), 0 when it would screen nothing away. */
export function effectiveScreen(plan: { baselines: readonly unknown[]; tests: readonly unknown[] }, requested: number | null): number {
  const B = plan.baselines.length;
  const n = requested ?? 0;
  return n <= 0 || n >= B || !plan.tests.length ? 0 : n;
}

/** The work units of a scan: the planned units, or with sequential testing the screening units and how to derive the rest. */
export function unitStages(inputs: ScoringInputs): { first: WorkUnit[]; next: NextStage | undefined } {
  const planned = planUnits(inputs.plan);
  if (!inputs.screenBaselines) return { first: planned, next: undefined };
  const slice = screeningSlice(inputs.plan.baselines, inputs.screenBaselines);
  return {
    first: screeningUnits(inputs.plan, planned, slice),
    next: (references, done) => {
      const outcomes = outcomesOf(inputs.plan.probes.length, done.values());
      const { stopped, decided } = screenDecision(inputs, references, outcomes, slice);
      return continuationUnits(inputs.plan, planned, slice, [...decided].filter((t) => !stopped.has(t)));
    },
  };
}

function outcomesOf(n: number, units: Iterable<Pick<UnitResult, 'probes' | 'outcomes'>>): (ProbeOutcome | undefined)[] {
  const out: (ProbeOutcome | undefined)[] = new Array(n);
  for (const u of units) u.probes.forEach((i, j) => (out[i] = u.outcomes[j]));
  return out;
}

/**
 * Which tests stop after the slice: every test whose slice probes all ran is scored on the slice
 * alone, and stops unless it could still reach a finding (score/sequential.ts). A test's slice row
 * reads only its own probes, its controls and the clean answers, so its decision is the same
 * whatever else ran.
 */
function screenDecision(inputs: ScoringInputs, references: CleanReferences, outcomes: readonly (ProbeOutcome | undefined)[], slice: readonly number[]) {
  const decided = inputs.plan.tests.map((_, t) => t).filter((t) => probesOfTestAt(inputs.plan, t, slice).every((i) => outcomes[i] !== undefined));
  const sub = withTests(inputs.plan, decided);
  const rows = scoreTests(sub, { clean: references.clean, probes: outcomes }, inputs.detectors, { ...inputs.options, screen: { baselines: slice, stopped: new Set(decided.map((_, k) => k)) } });
  // One row per test when every test is stopped, in test order.
  const stopped = new Set(decided.filter((_, k) => !continuesAfterScreen(rows[k]!, inputs.options)));
  return { decided: new Set(decided), stopped };
}

/** Score the tests that the units' outcomes complete. */
export function scoreUnits(inputs: ScoringInputs, references: CleanReferences, units: ReadonlyMap<number, UnitResult>, reason: IncompleteReason): Scored {
  const full = inputs.plan;
  const { first, next } = unitStages(inputs);
  const check = (expected: readonly WorkUnit[]) => {
    for (const u of expected) {
      const r = units.get(u.index);
      if (r && (r.key !== u.key || r.probes.length !== u.probes.length)) throw new Error(`results for unit ${u.index} do not fit its plan (${r.key} vs ${u.key})`);
    }
  };
  check(first);
  const firstDone = first.every((u) => units.has(u.index));
  const second = next && firstDone ? next(references, units) : [];
  check(second);
  const planned = [...first, ...second];
  const outcomes = outcomesOf(full.probes.length, planned.flatMap((u) => units.get(u.index) ?? []));
  let stats = references.stats;
  for (const u of planned) {
    const r = units.get(u.index);
    if (r) stats = addStats(stats, r.stats);
  }
  const has = (i: number) => outcomes[i] !== undefined;
  let ran: number[];
  let screen: Screening | undefined;
  if (!inputs.screenBaselines) ran = completeTests(full, has);
  else {
    const slice = screeningSlice(full.baselines, inputs.screenBaselines);
    const { decided, stopped } = screenDecision(inputs, references, outcomes, slice);
    // A stopped test is complete with its slice; one that goes on, with every probe.
    const complete = new Set(completeTests(full, has));
    ran = full.tests.map((_, t) => t).filter((t) => (decided.has(t) && stopped.has(t)) || (!stopped.has(t) && complete.has(t)));
    screen = { baselines: slice, stopped: new Set(ran.flatMap((t, k) => (stopped.has(t) ? [k] : []))) };
  }
  const plan = withTests(full, ran);
  const results = scoreTests(plan, { clean: references.clean, probes: outcomes }, inputs.detectors, { ...inputs.options, screen });
  const findings = selectFindings(results);
  const complete = ran.length === full.tests.length;
  const ranSet = new Set(ran);
  const coverage: Coverage = {
    complete,
    reason: complete ? null : reason,
    testsPlanned: full.tests.length,
    testsRun: ran.length,
    unitsPlanned: planned.length,
    unitsRun: planned.filter((u) => units.has(u.index)).length,
    untested: full.tests.filter((_, t) => !ranSet.has(t)).map((t) => t.key),
  };
  const verdict = modelVerdict({ findings, fileSeverities: inputs.fileSeverities, complete });
  return { plan, results, findings, steering: selectSteering(results), verdict, coverage, stats, outcomes, screen, probesRun: outcomes.filter(Boolean).length };
}

/** What scoring needs, from a scan's state (a results log's header, a shard's). */
export function scoringInputs(state: ScanState): ScoringInputs {
  const s = state.context.settings;
  const d = state.discovery;
  return {
    plan: loadStoredPlan(state.plan),
    detectors: state.detectors,
    options: { fdr: s.fdr, minAttackSuccess: s.minAttackSuccess, minCategorySize: s.minCategorySize, outputs: state.outputs, discovered: d ? new Map(d.info) : undefined, reference: d?.cleanAnswers },
    fileSeverities: state.context.fileFindings.map((f) => f.severity),
    screenBaselines: s.screenBaselines ?? 0,
  };
}

/** Score the tests of `state` that the units' outcomes complete. */
export function scoreState(state: ScanState, references: CleanReferences, units: ReadonlyMap<number, UnitResult>, reason: IncompleteReason): Scored {
  return scoreUnits(scoringInputs(state), references, units, reason);
}

export function finishReport(state: ScanState, scored: Scored, references: CleanReferences, run: { threads: number; startedAt: Date; finishedAt: Date }): ScanReport {
  return buildReport({
    context: state.context,
    threads: run.threads,
    plan: scored.plan,
    exec: { clean: references.clean, stats: scored.stats },
    probes: state.plan.probes.length,
    probesRun: scored.probesRun,
    stoppedTests: scored.screen?.stopped.size ?? 0,
    results: scored.results,
    findings: scored.findings,
    steering: scored.steering,
    verdict: scored.verdict,
    coverage: scored.coverage,
    discovery: state.discovery?.report ?? null,
    discoveryIncomplete: state.discovery?.incomplete ?? [],
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
  });
}
