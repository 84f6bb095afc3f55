import { expect } from 'vitest';
import type { LoadedModel } from '../../src/model/load-model.js';
import { CausalLM } from '../../src/run/causal-lm.js';

export const PROMPTS = [
  'What is the capital of France?',
  'Write a Python function that adds two numbers.',
  'hi',
  'List three colours of the rainbow, please, and say why the sky looks blue on a clear day.',
];

export function encodePrompts(m: LoadedModel, prompts = PROMPTS): number[][] {
  return prompts.map((p) => m.tokenizer.encode(m.format.render({ user: p }), m.format.addSpecialTokens));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/**
 * Greedy decoding with the KV cache must pick the same tokens, with the same logits, as running
 * the whole sequence again without a cache (teacher forcing on the generated tokens).
 */
export async function expectCacheMatchesRecompute(m: LoadedModel, tol: number, steps = 8): Promise<number> {
  const lm = new CausalLM(m, { batchSize: 4 });
  const prompts = encodePrompts(m);
  const gens = await lm.generate(prompts, steps, { keepLogits: true, stopAtEos: false });
  let worst = 0;
  const items = prompts.map((p, i) => ({ prompt: p, continuation: gens[i]!.tokens }));
  await lm.teacherForce(items, (i, logits) => {
    const g = gens[i]!;
    expect(g.tokens).toHaveLength(steps);
    for (let k = 0; k < steps; k++) {
      const full = logits.subarray(k * lm.vocab, (k + 1) * lm.vocab);
      worst = Math.max(worst, maxAbsDiff(full, g.stepLogits![k]!));
      // The cached step chose the argmax of its own logits; recomputation must agree on it.
      let best = 0;
      for (let v = 1; v < lm.vocab; v++) if (full[v]! > full[best]!) best = v;
      const top2 = [...full].sort((a, b) => b - a);
      if (top2[0]! - top2[1]! > tol) expect(best).toBe(g.tokens[k]);
    }
  });
  expect(worst).toBeLessThanOrEqual(tol);
  return worst;
}

/** A batch of prompts of different lengths gives what each prompt gives alone. */
export async function expectBatchedEqualsSingle(m: LoadedModel, tol: number): Promise<void> {
  const prompts = encodePrompts(m);
  expect(new Set(prompts.map((p) => p.length)).size).toBeGreaterThan(1);
  const batched = new CausalLM(m, { batchSize: 8 });
  const single = new CausalLM(m, { batchSize: 1 });
  const gb = await batched.generate(prompts, 6, { keepLogits: true, stopAtEos: false });
  const gs = await single.generate(prompts, 6, { keepLogits: true, stopAtEos: false });
  for (let i = 0; i < prompts.length; i++) {
    expect(gb[i]!.tokens).toEqual(gs[i]!.tokens);
    for (let k = 0; k < 6; k++) expect(maxAbsDiff(gb[i]!.stepLogits![k]!, gs[i]!.stepLogits![k]!)).toBeLessThanOrEqual(tol);
  }
  const nb = await batched.nextTokenLogits(prompts);
  const ns = await single.nextTokenLogits(prompts);
  for (let i = 0; i < prompts.length; i++) expect(maxAbsDiff(nb[i]!, ns[i]!)).toBeLessThanOrEqual(tol);
  expect(batched.stats.forwardPasses).toBeLessThan(single.stats.forwardPasses);
}

/** Scoring after a shared prefill gives the same logits and tokens as separate teacher forcing and decoding. */
export async function expectSharedPrefillMatches(m: LoadedModel, tol: number): Promise<void> {
  const lm = new CausalLM(m, { batchSize: 4 });
  const prompts = encodePrompts(m);
  const conts = prompts.map((_, i) => [5, 9, 14, 20, 7].slice(0, 1 + (i % 5)));
  const items = prompts.map((p, i) => ({ prompt: p, continuation: conts[i]! }));
  const separate: Float32Array[] = [];
  await lm.teacherForce(items, (i, lg) => (separate[i] = lg.slice()));
  const sepGen = await lm.generate(prompts, 6, { stopAtEos: false });
  const shared: Float32Array[] = [];
  const gen = await lm.scoreAndGenerate(items, 6, (i, lg) => (shared[i] = lg.slice()));
  for (let i = 0; i < items.length; i++) {
    expect(shared[i]!.length).toBe(conts[i]!.length * lm.vocab);
    expect(maxAbsDiff(shared[i]!, separate[i]!)).toBeLessThanOrEqual(tol);
  }
  // scoreAndGenerate stops at end-of-sequence; compare the common part.
  gen.forEach((g, i) => expect(sepGen[i]!.tokens.slice(0, g.tokens.length)).toEqual(g.tokens));
}

/**
 * Rows forked from shared prefixes (each prompt read once, its KV cache copied per row) give the logits
 * of reading prefix + tokens from scratch, also after rows are dropped.
 */
export async function expectForkMatchesRecompute(m: LoadedModel, tol: number): Promise<void> {
  const { readPrefixes, Fork } = await import('../../src/run/fork.js');
  const lm = new CausalLM(m, { batchSize: 8 });
  const prompts = encodePrompts(m);
  const prefixes = await readPrefixes(lm.engine(), prompts);
  const first = await lm.nextTokenLogits(prompts);
  prompts.forEach((_, i) => expect(maxAbsDiff(prefixes.next[i]!, first[i]!)).toBeLessThanOrEqual(tol));
  // Rows: every prompt twice, with different forced tokens, then a second step, then only some rows.
  const rowPrefix = [0, 1, 2, 3, 0, 1, 2, 3];
  const tokens1 = [5, 9, 40, 77, 300, 12, 64, 128].map((t) => t % lm.vocab);
  const tokens2 = [7, 8, 9, 10, 11, 12, 13, 14];
  const fork = Fork.open(lm.engine(), prefixes, rowPrefix);
  const check = async (rows: number[], seqOf: (r: number) => number[], logits: { rows(i: number): Float32Array }) => {
    const ref = await lm.nextTokenLogits(rows.map(seqOf));
    rows.forEach((_, k) => expect(maxAbsDiff(logits.rows(k), ref[k]!)).toBeLessThanOrEqual(tol));
  };
  const all = rowPrefix.map((_, r) => r);
  await check(all, (r) => [...prompts[rowPrefix[r]!]!, tokens1[r]!], await fork.step(tokens1));
  await check(all, (r) => [...prompts[rowPrefix[r]!]!, tokens1[r]!, tokens2[r]!], await fork.step(tokens2));
  const kept = [6, 1, 3];
  fork.keep(kept);
  expect(fork.prefixOf).toEqual(kept.map((r) => rowPrefix[r]));
  const tokens3 = [20, 21, 22];
  const l3 = await fork.step(tokens3);
  await check(kept.map((_, k) => k), (k) => [...prompts[rowPrefix[kept[k]!]!]!, tokens1[kept[k]!]!, tokens2[kept[k]!]!, tokens3[k]!], l3);
}

/**
 * Decoding that drops finished rows from the batch gives exactly the answers of decoding that keeps
 * them (padding) to the end. `prompts` must make some rows stop well before others.
 */
export async function expectDroppingFinishedRowsMatches(m: LoadedModel, prompts: number[][], steps: number): Promise<void> {
  const dropping = new CausalLM(m, { batchSize: prompts.length });
  const keeping = new CausalLM(m, { batchSize: prompts.length, dropFinished: false });
  const a = await dropping.generate(prompts, steps);
  const b = await keeping.generate(prompts, steps);
  expect(a.map((g) => [g.tokens, g.stopped])).toEqual(b.map((g) => [g.tokens, g.stopped]));
  // Some rows did stop early, and the dropping run fed fewer tokens for it.
  expect(a.some((g) => g.stopped && g.tokens.length < steps - 2)).toBe(true);
  expect(dropping.stats.decodeTokens).toBeLessThan(keeping.stats.decodeTokens);
}

/**
 * Rows that start alike read their shared part once (its KV cache copied to every row, the rests padded
 * in the middle): the same logits and tokens as reading every row whole, in generation, teacher forcing
 * and next-token logits.
 */
export async function expectSharedPrefixMatches(m: LoadedModel, tol: number): Promise<void> {
  const prompts = encodePrompts(m, PROMPTS.map((p) => `Please answer in one short sentence. ${p}`));
  const sharing = new CausalLM(m, { batchSize: 8, sharedPrefixMin: 1 });
  const whole = new CausalLM(m, { batchSize: 8, sharedPrefixMin: 0 });
  const a = await sharing.generate(prompts, 6, { keepLogits: true, stopAtEos: false });
  const b = await whole.generate(prompts, 6, { keepLogits: true, stopAtEos: false });
  a.forEach((g, i) => {
    expect(g.tokens).toEqual(b[i]!.tokens);
    g.stepLogits!.forEach((l, k) => expect(maxAbsDiff(l, b[i]!.stepLogits![k]!)).toBeLessThanOrEqual(tol));
  });
  const items = prompts.map((p, i) => ({ prompt: p, continuation: [5, 9, 14, 20, 7].slice(0, 1 + (i % 5)) }));
  const ta: Float32Array[] = [];
  const tb: Float32Array[] = [];
  await sharing.teacherForce(items, (i, l) => (ta[i] = l.slice()));
  await whole.teacherForce(items, (i, l) => (tb[i] = l.slice()));
  ta.forEach((l, i) => expect(maxAbsDiff(l, tb[i]!)).toBeLessThanOrEqual(tol));
  const na = await sharing.nextTokenLogits(prompts);
  const nb = await whole.nextTokenLogits(prompts);
  na.forEach((l, i) => expect(maxAbsDiff(l, nb[i]!)).toBeLessThanOrEqual(tol));
  // The shared head was read once per batch, not once per row.
  expect(sharing.stats.prefillTokens).toBeLessThan(whole.stats.prefillTokens);
}
