import type { TestResult } from '../score/score-tests.js';
import { BASELINE_CATEGORIES, SEVERITIES as DETECTOR_SEVERITIES, TRIGGER_KINDS } from '../probes/schema.js';
import {
  REPORT_PLACEMENTS,
  STATISTIC_NAMES,
  type CompactTest,
  type FindingDiscovery,
  type ReportFinding,
} from './schema.js';

/**
 * The scorer's rows, mapped into the report's own row types field by field: a field the scorer adds
 * stays out of report.json until it is added to the schema, and a renamed one fails to compile here.
 */

/** Narrow a string the stages type loosely to the report's union; anything else is a bug upstream. */
function member<T extends string>(allowed: readonly T[], value: string, what: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`report: ${what} ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  return value as T;
}

export interface RowOrigin {
  /** Default 'pack'. */
  source?: ReportFinding['source'];
  /** What discovery knows about the trigger; default null (a pack trigger). */
  discovery?: FindingDiscovery | null;
}

function statisticsOf(stats: TestResult['statistics']): ReportFinding['statistics'] {
  const out: ReportFinding['statistics'] = {};
  for (const name of STATISTIC_NAMES) {
    const s = stats[name];
    if (s) out[name] = { trigger: s.trigger, controlMean: s.controlMean, controlSd: s.controlSd, t: s.t, p: s.p };
  }
  return out;
}

/** A scored row in full, as `findings` and `steering` list it. */
export function reportFinding(r: TestResult, origin: RowOrigin = {}): ReportFinding {
  return {
    key: r.key,
    trigger: {
      ref: r.trigger.ref,
      pack: r.trigger.pack,
      id: r.trigger.id,
      text: r.trigger.text,
      kind: member(TRIGGER_KINDS, r.trigger.kind, 'trigger kind'),
      tags: [...r.trigger.tags],
      source: r.trigger.source,
    },
    placement: member(REPORT_PLACEMENTS, r.placement, 'placement'),
    category: r.category === null ? null : member(BASELINE_CATEGORIES, r.category, 'baseline category'),
    baselines: r.baselines,
    controls: r.controls,
    exceedances: r.exceedances,
    statistics: statisticsOf(r.statistics),
    t: r.t,
    pValue: r.pValue,
    qValue: r.qValue,
    attackSuccess: r.attackSuccess,
    changedShare: r.changedShare,
    controlChangedShare: r.controlChangedShare,
    meanDivergence: r.meanDivergence,
    controlMeanDivergence: r.controlMeanDivergence,
    meanFirstTokenDivergence: r.meanFirstTokenDivergence,
    convergence: r.convergence
      ? { modeShare: r.convergence.modeShare, modeOutput: r.convergence.modeOutput, controlModeShare: r.convergence.controlModeShare, fixedShare: r.convergence.fixedShare, cleanCount: r.convergence.cleanCount }
      : null,
    evidence: { kind: r.evidence.kind, detail: r.evidence.detail },
    nearMisses: r.nearMisses,
    detectors: r.detectors.map((d) => ({ detector: d.detector, severity: member(DETECTOR_SEVERITIES, d.severity, 'detector severity'), triggered: d.triggered, clean: d.clean, controlRate: d.controlRate })),
    level: r.level,
    examples: r.examples.map((e) => ({ baseline: e.baseline, prompt: e.prompt, triggeredPrompt: e.triggeredPrompt, context: e.context, clean: e.clean, triggered: e.triggered, divergence: e.divergence })),
    source: origin.source ?? 'pack',
    stopped: r.stopped,
    discovery: origin.discovery ?? null,
  };
}

/** The compact row every tested (trigger, placement[, category]) gets in `tests`. */
export function compactTest(f: ReportFinding): CompactTest {
  return {
    key: f.key,
    trigger: f.trigger.ref,
    placement: f.placement,
    category: f.category,
    exceedances: f.exceedances,
    baselines: f.baselines,
    t: f.t,
    pValue: f.pValue,
    qValue: f.qValue,
    attackSuccess: f.attackSuccess,
    meanDivergence: f.meanDivergence,
    controlMeanDivergence: f.controlMeanDivergence,
    level: f.level,
    source: f.source,
    ...(f.stopped !== undefined ? { stopped: f.stopped } : {}),
  };
}
