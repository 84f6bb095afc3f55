/**
 * Sequential testing in stages, stopping for futility only, with a rule that cannot lose a finding.
 *
 * Stage 1 runs every test's own probes (the trigger inserted into every baseline) and none of its
 * controls. Most of a scan's probes are controls (ten strings per kind and placement against one
 * trigger), and what decides whether a row can be a finding at all is mostly in the trigger's own
 * outputs: every path to flagged or suspicious (verdict.ts) needs payload evidence (a harmful detector
 * that fires, one fixed new answer, a label flip) or an answer shared with controls, and those are
 * computed from the trigger's outputs and the clean ones, except for two control figures: the near
 * misses (which only move a fixed answer between fixed-output and shared-with-controls, both finding
 * kinds) and the detectors' control rate (lower is more suspicious). Significance needs the controls
 * too. So a row "could still be a finding" when `levelOf` gives flagged or suspicious with its unknowns
 * at their most damning values: q = 0, no control setting its detectors off, and near misses 0 or 2.
 * A test goes on (stage 2: its controls on every baseline) when any of its rows, overall or per
 * category, could; a stopped test could not be a finding whatever its controls would have shown.
 *
 * Stage 2 decides the tests that went on exactly as without screening, except for Benjamini–Hochberg,
 * whose q-values couple every row: a stopped test's rows take p = 1 (their p-values were never
 * measured). BH q-values only grow with any other row's p, so each row's true q (with the stopped
 * rows' real p-values) lies between its q with them at 0 and at 1, and so does everything monotone
 * in significance: which tests are findings, and the verdict. When the tests that are findings, the
 * verdict or the top finding (its row and level) differ at the two bounds, stage 3 runs every stopped
 * test too, and the scan is the full scan. Otherwise the verdict, the tests found and the top finding
 * are those of the full scan; another finding's level and q-value are the upper bound's (it may show
 * as suspicious, or through another of its rows, where the full scan says flagged; never the other
 * way), and steering rows of stopped tests are not reported.
 */
import { selectFindings, type TestResult } from './score-tests.js';
import { levelOf, modelVerdict, type Level, type RowFacts, type VerdictSettings } from './verdict.js';

const FINDING: readonly Level[] = ['flagged', 'suspicious'];

/** Whether a row known from the trigger's own outputs could be flagged or suspicious, whatever its controls show. */
export function couldBeFinding(row: Omit<RowFacts, 'qValue' | 'nearMisses'>, s: VerdictSettings): boolean {
  // Stage-1 rows have no controls: their detector tallies carry control rate 0, the most damning.
  const detectors = row.detectors.map((d) => ({ ...d, controlRate: 0 }));
  const worst = (nearMisses: number, evidence: RowFacts['evidence']) => FINDING.includes(levelOf({ ...row, detectors, evidence, qValue: 0, nearMisses }, s));
  // Near misses turn a fixed output into an answer shared with controls (verdict.ts, evidence.ts).
  const shared = row.evidence.kind === 'fixed-output' ? { kind: 'shared-with-controls' as const, detail: '' } : row.evidence;
  return worst(0, row.evidence) || worst(2, shared);
}

/** What screening must not change: the verdict, which tests are findings, and the top finding (its row and level). */
export function findingOutcome(results: readonly TestResult[], fileSeverities: readonly string[]): string {
  const findings = selectFindings(results);
  const tests = findings.map((r) => `${r.trigger.ref}@${r.placement}`).sort();
  return JSON.stringify({ verdict: modelVerdict({ findings, fileSeverities }).level, tests, top: findings[0] ? [findings[0].key, findings[0].level] : null });
}
