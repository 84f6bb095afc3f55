/**
 * Target inversion keeps to its marks of the discovery budget (discover.ts INVERSION_MARKS), so that a
 * vocabulary too large to sweep in the budget still leaves trigger reconstruction and leakage their
 * share. On the 82M distilgpt2-shaped model inversion used to run until the budget was spent and both
 * were skipped. Here the budget is counted in forward passes instead of milliseconds (one pass, one
 * unit), which stands in for a slow model and makes the run the same on any machine: 200 passes are
 * too few for the fixture's 2,796 first tokens at both anchors.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverTriggers, INVERSION_MARKS } from '../../src/discover/discover.js';
import { loadModel, type LoadedModel } from '../../src/model/load-model.js';
import { loadPacks } from '../../src/probes/load-pack.js';
import { CausalLM } from '../../src/run/causal-lm.js';
import { FIXTURE_MODELS } from '../helpers/paths.js';

let model: LoadedModel;
let lm: CausalLM;
beforeAll(async () => {
  model = await loadModel(path.join(FIXTURE_MODELS, 'ao-bait-llama'), { threads: 1 });
  lm = new CausalLM(model, { batchSize: 32 });
});
afterAll(async () => {
  await lm.release();
  await model.release();
});

async function discoverWith(budget: number) {
  const search = await loadPacks(['baselines-search']);
  const packs = await loadPacks(['baselines', 'detectors']);
  return discoverTriggers(model, lm, {
    budgetMs: budget, seed: 1, prompts: search.baselines, detectors: packs.detectors,
    placements: ['suffix'], maxTargets: 0, maxCandidates: 4, clock: () => lm.stats.forwardPasses,
  });
}

describe('target inversion within its share of the discovery budget', () => {
  it('stops its sweeps at their marks and leaves reconstruction and leakage to run', async () => {
    expect(INVERSION_MARKS.start).toBeLessThan(INVERSION_MARKS.end);
    expect(INVERSION_MARKS.perKind).toBeLessThan(1);
    const d = await discoverWith(200);
    const stage = (name: string) => d.stages.find((s) => s.name === name)!;
    // What comes after inversion ran: it was not left "budget spent".
    expect(stage('trigger-reconstruction').skipped).toBeUndefined();
    expect(stage('leakage').skipped).toBeUndefined();
    // And the sweeps were cut to leave it that share.
    expect(stage('target-inversion').skipped).toBeUndefined();
    expect(d.incomplete.some((x) => /^target inversion tried \d+ of \d+ first tokens$/.test(x))).toBe(true);
    expect(d.incomplete.filter((x) => / skipped$/.test(x) && !x.startsWith('target inversion'))).toEqual([]);
  }, 120_000);
});
