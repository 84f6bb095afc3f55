import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsDivergence, logSoftmaxInPlace, meanJsDivergence } from '../../src/math/divergence.js';
import { RowKernels } from '../../src/run/row-kernels.js';
import { rngFor } from '../../src/util/rng.js';

/** Rows like a model's: mostly small logits, a few large ones (peaked), some masked to -1e30. */
function rows(n: number, V: number, rng: () => number, spread: number): Float32Array {
  const x = new Float32Array(n * V);
  for (let i = 0; i < x.length; i++) x[i] = spread * (rng() - 0.5) + (rng() < 0.01 ? 12 * rng() : 0);
  return x;
}

describe('RowKernels (whole-vocabulary row arithmetic in onnxruntime)', () => {
  const V = 5000;
  let k: RowKernels;
  beforeAll(() => {
    k = new RowKernels(V, 1);
  });
  afterAll(async () => {
    await k.release();
  });

  it('matches the JS implementation row by row, flat and peaked distributions alike', async () => {
    const rng = rngFor(7, 'divergence-kernel');
    for (const spread of [0.5, 4, 20]) {
      const n = 6;
      const logp = rows(n, V, rng, spread);
      for (let r = 0; r < n; r++) logSoftmaxInPlace(logp.subarray(r * V, (r + 1) * V));
      // Some probe rows close to the reference, some far from it.
      const q = rows(n, V, rng, spread);
      for (let i = 0; i < 2 * V; i++) q[i] = logp[i]! + 0.01 * (rng() - 0.5);
      const got = await k.divergence(logp, q, n);
      for (let r = 0; r < n; r++) {
        const want = jsDivergence(logp.subarray(r * V, (r + 1) * V), q.subarray(r * V, (r + 1) * V));
        expect(Math.abs(got[r]! - want)).toBeLessThan(2e-6 + 1e-3 * want);
      }
      const mean = await k.meanDivergence(logp, q, n);
      const ref = meanJsDivergence(logp, q, V, n);
      expect(mean.first).toBeCloseTo(ref.first, 5);
      expect(mean.mean).toBeCloseTo(ref.mean, 5);
    }
  });

  it('is ln 2 for disjoint distributions, 0 for equal ones, and never NaN with masked logits', async () => {
    const a = new Float32Array(2 * V).fill(-1e30);
    a[0] = 0;
    a[V + 7] = 0;
    const logp = a.slice();
    logSoftmaxInPlace(logp.subarray(0, V));
    logSoftmaxInPlace(logp.subarray(V));
    const q = new Float32Array(2 * V).fill(-1e30);
    q[1] = 0; // disjoint from row 0
    q[V + 7] = 0; // equal to row 1
    const js = await k.divergence(logp, q, 2);
    expect(js[0]).toBeCloseTo(Math.LN2, 6);
    expect(js[1]).toBeCloseTo(0, 7);
    expect(await k.meanDivergence(logp, q, 0)).toEqual({ mean: 0, first: 0 });
  });

  it('averages softmaxes over groups of rows: argmax, top probability and entropy as computed directly', async () => {
    const rng = rngFor(3, 'mean-softmax');
    const chains = 3, prompts = 4;
    const x = rows(chains * prompts, V, rng, 6);
    const got = await k.meanSoftmax(x, chains, prompts);
    for (let c = 0; c < chains; c++) {
      const avg = new Float64Array(V);
      for (let p = 0; p < prompts; p++) {
        const row = x.subarray((c * prompts + p) * V, (c * prompts + p + 1) * V);
        const max = Math.max(...row);
        let sum = 0;
        for (const v of row) sum += Math.exp(v - max);
        for (let v = 0; v < V; v++) avg[v]! += Math.exp(row[v]! - max) / sum / prompts;
      }
      let best = 0;
      for (let v = 1; v < V; v++) if (avg[v]! > avg[best]!) best = v;
      let h = 0;
      for (const p of avg) if (p > 0) h -= p * Math.log(p);
      expect(got.argmax[c]).toBe(best);
      expect(got.top[c]).toBeCloseTo(avg[best]!, 6);
      expect(got.entropy[c]).toBeCloseTo(h, 4);
    }
  });

  it('gives the log-probability of one id per row', async () => {
    const rng = rngFor(4, 'log-prob');
    const x = rows(3, V, rng, 6);
    const ids = [0, 17, V - 1];
    const got = await k.logProb(x, ids);
    ids.forEach((id, r) => {
      const row = x.subarray(r * V, (r + 1) * V);
      const max = Math.max(...row);
      let sum = 0;
      for (const v of row) sum += Math.exp(v - max);
      expect(got[r]).toBeCloseTo(row[id]! - max - Math.log(sum), 5);
    });
  });
});
