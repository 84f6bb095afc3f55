/**
 * score → verdict → report from a scan's state and its finished units: the last stage of every
 * scan, of a resumed one, and of `merge` (which has no model). Tests whose probes did not all run
 * (a time budget, a missing shard) are left out and listed; the verdict of such a scan says partial.
 *
 * Sequential testing lives here too, as stages of work units (score/sequential.ts): every test's own
 * probes first; then, decided from those outcomes alone, the controls of the tests that could still be
 * a finding; then, only when Benjamini–Hochberg's coupling leaves a finding undecided, everything else.
 * Each decision is a pure function of recorded outcomes, so a resumed scan, and the report of any run,
 * derive the same stopped tests and the same later units.
 */
import { loadStoredPlan, withTests, type ScoringPlan } from '../plan/stored-plan.js';
import { completeTests, continuationUnits, planUnits, screeningUnits, type WorkUnit } from '../plan/units.js';
import type { Detector } from '../probes/types.js';
import { buildReport } from '../report/build-report.js';
import type { Coverage, ScanReport } from '../report/schema.js';
import type { RunStats } from '../run/causal-lm.js';
import { addStats, type CleanReferences, type ProbeOutcome } from '../run/runner.js';
import { scoreTests, selectFindings, selectSteering, triggerOnlyRows, type ScoreOptions, type Screening, type TestResult } from '../score/score-tests.js';
import { couldBeFinding, findingOutcome } from '../score/sequential.js';
import { modelVerdict, payloadTargets, type ModelVerdict } from '../score/verdict.js';
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
  /** Sequential testing: the scored tests (indices into `plan.tests`) stopped after the screening stage. */
  screen: Screening | undefined;
  probesRun: number;
}

export type IncompleteReason = Coverage['reason'];

/** What scoring needs besides the outcomes: the plan, the detectors, the settings. */
export interface ScoringInputs {
  plan: ScoringPlan;
  detectors: readonly Detector[];
  options: Omit<ScoreOptions, 'screening'>;
  fileSeverities: readonly string[];
  /** Harmful inverted targets at BAIT's threshold (score/verdict.ts payloadTargets): suspicious by themselves. */
  payloadTargets?: number | undefined;
  /** Sequential testing (score/sequential.ts); false: every test with all its controls. */
  screen: boolean;
}

/** Whether a scan screens: when asked (the default) and there is a test to stop. */
export function effectiveScreen(plan: { tests: readonly unknown[] }, requested: boolean): boolean {
  return requested && plan.tests.length > 0;
}

/** The work units of a scan: the planned units, or with sequential testing the screening units and how to derive the rest. */
export function unitStages(inputs: ScoringInputs): { first: WorkUnit[]; next: NextStage | undefined } {
  const planned = planUnits(inputs.plan);
  if (!inputs.screen) return { first: planned, next: undefined };
  const first = screeningUnits(inputs.plan, planned);
  return { first, next: (references, done) => laterStages(inputs, planned, first, references, done).units };
}

function outcomesOf(n: number, units: Iterable<Pick<UnitResult, 'probes' | 'outcomes'>>): (ProbeOutcome | undefined)[] {
  const out: (ProbeOutcome | undefined)[] = new Array(n);
  for (const u of units) u.probes.forEach((i, j) => (out[i] = u.outcomes[j]));
  return out;
}

interface StageDecision {
  /** Units of the later stages that the outcomes so far call for (stage 2, and stage 3 once stage 2 is done). */
  units: WorkUnit[];
  /** Tests whose own probes all ran and that could not be a finding. */
  stopped: Set<number>;
  /** Stage 3 is planned: the stopped tests run too, and are stopped no more once it is done. */
  all: boolean;
}

/**
 * The decisions of sequential testing from the outcomes of the units done so far. Stage 2: the
 * controls of every test whose own outputs leave a finding possible. Stage 3, once stage 2 is done:
 * everything else, when the verdict, the findings or the top finding differ with the stopped rows at
 * p = 0 and at p = 1 (Benjamini–Hochberg couples the rows). A test's stage-1 decision reads only its own probes
 * and the clean answers, so it is the same whatever else ran.
 */
function laterStages(inputs: ScoringInputs, planned: readonly WorkUnit[], first: readonly WorkUnit[], references: CleanReferences, done: ReadonlyMap<number, UnitResult>): StageDecision {
  const plan = inputs.plan;
  const outcomes = outcomesOf(plan.probes.length, done.values());
  const exec = { clean: references.clean, probes: outcomes };
  const decided = plan.tests.map((_, t) => t).filter((t) => plan.tests[t]!.probes.every((i) => outcomes[i] !== undefined));
  const rows = triggerOnlyRows(plan, exec, inputs.detectors, inputs.options, decided);
  const stopped = new Set(
    decided.filter((t, k) => !rows[k]!.some((r) => couldBeFinding({ ...r, negativeControl: plan.tests[t]!.trigger.tags.includes('negative-control') }, inputs.options))),
  );
  if (!first.every((u) => done.has(u.index))) return { units: [], stopped, all: false };
  const ran = new Set(first.flatMap((u) => u.probes));
  const second = continuationUnits(plan, planned, plan.tests.map((_, t) => t).filter((t) => !stopped.has(t)), ran, 1, 'rest');
  if (!stopped.size || !second.every((u) => done.has(u.index))) return { units: second, stopped, all: false };
  const bound = (stoppedP: 0 | 1) => scoreTests(plan, exec, inputs.detectors, { ...inputs.options, screening: { stopped, stoppedP } });
  const [lo, hi] = [bound(0), bound(1)];
  if (findingOutcome(lo, inputs.fileSeverities) === findingOutcome(hi, inputs.fileSeverities)) return { units: second, stopped, all: false };
  for (const u of second) for (const i of u.probes) ran.add(i);
  return { units: [...second, ...continuationUnits(plan, planned, stopped, ran, 2, 'all')], stopped, all: true };
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
  const decision = next ? laterStages(inputs, planUnits(full), first, references, units) : undefined;
  const later = decision?.units ?? [];
  check(later);
  const planned = [...first, ...later];
  const outcomes = outcomesOf(full.probes.length, planned.flatMap((u) => units.get(u.index) ?? []));
  let stats = references.stats;
  for (const u of planned) {
    const r = units.get(u.index);
    if (r) stats = addStats(stats, r.stats);
  }
  const has = (i: number) => outcomes[i] !== undefined;
  const whole = new Set(completeTests(full, has));
  let ran: number[];
  let screen: Screening | undefined;
  if (!decision) ran = [...whole];
  else {
    // A stopped test is done with its own probes, unless stage 3 runs it whole.
    const isStopped = (t: number) => decision.stopped.has(t) && !decision.all;
    ran = full.tests.map((_, t) => t).filter((t) => isStopped(t) || whole.has(t));
    screen = { stopped: new Set(ran.flatMap((t, k) => (isStopped(t) ? [k] : []))) };
  }
  const plan = withTests(full, ran);
  const results = scoreTests(plan, { clean: references.clean, probes: outcomes }, inputs.detectors, { ...inputs.options, screening: screen });
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
  const verdict = modelVerdict({ findings, fileSeverities: inputs.fileSeverities, complete, payloadTargets: inputs.payloadTargets });
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
    payloadTargets: d ? payloadTargets(d.report.targets).length : 0,
    screen: s.screen ?? false,
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
