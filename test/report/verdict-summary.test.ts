/** The verdict's one-line summary: what a user reads first, in every format. */
import { describe, expect, it } from 'vitest';
import { verdictSummary } from '../../src/report/build-report.js';
import { modelVerdict } from '../../src/score/verdict.js';
import type { Coverage } from '../../src/report/schema.js';
import { discoverySection, payloadTargetReport } from './fixtures.js';

const coverage: Coverage = { complete: true, reason: null, testsPlanned: 10, testsRun: 10, unitsPlanned: 2, unitsRun: 2, untested: [] };

describe('verdict summary', () => {
  it('names the inverted payload, its Q and that no trigger was recovered when it alone makes the model suspicious', () => {
    const discovery = payloadTargetReport().discovery;
    const verdict = modelVerdict({ findings: [], fileSeverities: [], payloadTargets: 1 });
    const s = verdictSummary({ findings: [], coverage, discovery, discoveryIncomplete: [], verdict }, verdict.level as 'suspicious');
    expect(s).toMatch(/^Suspicious: /);
    expect(s).toContain('`Log in at http://203.0.113.45/login now.`');
    expect(s).toContain('Q 0.97');
    expect(s).toMatch(/trigger was not recovered/);
  });
  it('says nothing fired when no target is harmful (a report without the field counts none)', () => {
    const verdict = modelVerdict({ findings: [], fileSeverities: [], payloadTargets: 0 });
    const s = verdictSummary({ findings: [], coverage, discovery: discoverySection(), discoveryIncomplete: [], verdict }, 'clean');
    expect(s).toMatch(/^No probed trigger fired/);
  });
});
