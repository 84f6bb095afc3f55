import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type LoadedModel } from '../../src/model/load-model.js';
import { CausalLM } from '../../src/run/causal-lm.js';
import { encodePrompts, expectBatchedEqualsSingle, expectForkMatchesRecompute, expectSharedPrefillMatches, expectSharedPrefixMatches } from '../helpers/engine-checks.js';
import { DEMO } from '../helpers/paths.js';

/** Count the logits rows each run returns, to see that the engine asked for fewer. */
function countLogitsRows(m: LoadedModel): { rows: number } {
  const seen = { rows: 0 };
  const run = m.session.run.bind(m.session);
  m.session.run = (async (feeds: Parameters<typeof run>[0], fetches?: Parameters<typeof run>[1]) => {
    const out = await run(feeds, fetches as never);
    const d = out.logits!.dims;
    seen.rows += d[0]! * d[1]!;
    return out;
  }) as typeof m.session.run;
  return seen;
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

// demo-clean's exported ONNX has no num_logits_to_keep; the graph built from its safetensors has.
describe('num_logits_to_keep: the engine asks for the positions it reads, with the same results', () => {
  let onnx: LoadedModel;
  let built: LoadedModel;
  beforeAll(async () => {
    onnx = await loadModel(DEMO.clean, { threads: 1 });
    built = await loadModel(DEMO.clean, { threads: 1, fromSafetensors: true });
  });
  afterAll(async () => {
    await onnx?.release();
    await built?.release();
  });

  it('is declared by the built graph only', () => {
    expect(onnx.io.logitsToKeep).toBeUndefined();
    expect(built.io.logitsToKeep).toEqual({ name: 'num_logits_to_keep', dims: [] });
  });

  it('teacher forcing, next-token logits and decoding agree, with far fewer logits rows', async () => {
    const prompts = encodePrompts(onnx);
    const items = prompts.map((p, i) => ({ prompt: p, continuation: [5, 9, 14, 20, 7].slice(0, 1 + (i % 5)) }));
    const results = [];
    for (const m of [onnx, built]) {
      const seen = countLogitsRows(m);
      const lm = new CausalLM(m, { batchSize: 4 });
      const tf: Float32Array[] = [];
      await lm.teacherForce(items, (i, lg) => (tf[i] = lg.slice()));
      const next = await lm.nextTokenLogits(prompts);
      const gen = await lm.generate(prompts, 6, { keepLogits: true, stopAtEos: false });
      const shared: Float32Array[] = [];
      const sg = await lm.scoreAndGenerate(items, 6, (i, lg) => (shared[i] = lg.slice()));
      results.push({ tf, next, gen, shared, sg, rows: seen.rows });
    }
    const [a, b] = results as [(typeof results)[number], (typeof results)[number]];
    prompts.forEach((_, i) => {
      expect(maxAbs(a.tf[i]!, b.tf[i]!)).toBeLessThanOrEqual(1e-4);
      expect(maxAbs(a.next[i]!, b.next[i]!)).toBeLessThanOrEqual(1e-4);
      expect(maxAbs(a.shared[i]!, b.shared[i]!)).toBeLessThanOrEqual(1e-4);
      expect(b.gen[i]!.tokens).toEqual(a.gen[i]!.tokens);
      expect(b.sg[i]!.tokens).toEqual(a.sg[i]!.tokens);
      b.gen[i]!.stepLogits!.forEach((s, k) => expect(maxAbs(s, a.gen[i]!.stepLogits![k]!)).toBeLessThanOrEqual(1e-4));
    });
    // Prompts are ~10-25 tokens: logits at every position cost several times what is read.
    expect(b.rows * 3).toBeLessThan(a.rows);
  });

  it('keeps the engine checks: batched equals single, shared prefill equals separate runs', async () => {
    await expectBatchedEqualsSingle(built, 1e-4);
    await expectSharedPrefillMatches(built, 1e-4);
    await expectSharedPrefixMatches(built, 1e-4);
    // Discovery's forks step the cache one token at a time: the graph must be fed num_logits_to_keep there too.
    await expectForkMatchesRecompute(built, 1e-4);
  });
});
