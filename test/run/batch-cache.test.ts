import { describe, expect, it } from 'vitest';
import type { KvCache } from '../../src/model/io-signature.js';
import { BatchCache } from '../../src/run/batch-cache.js';
import { floatTensor, type Tensor } from '../../src/run/tensors.js';

const H = 2;
const D = 3;
const kvOf = (presents: 'whole' | 'new'): KvCache => ({
  kind: 'separate', layers: 1, pastNames: [['pk', 'pv']], presentNames: [['ok', 'ov']], presents, heads: H, headDim: D, dtype: 'float32',
});

/** A pass's cache outputs [R, H, T, D] whose values say where they belong: 1000·row + 100·head + 10·position + d. */
function outputs(R: number, T: number, from: number): Record<string, Tensor> {
  const data = new Float32Array(R * H * T * D);
  for (let r = 0; r < R; r++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) data[((r * H + h) * T + t) * D + d] = 1000 * r + 100 * h + 10 * (from + t) + d;
  return { ok: floatTensor('float32', data, [R, H, T, D]), ov: floatTensor('float32', data.map((x) => -x), [R, H, T, D]) };
}

/** Row r, head h, slot s of a fed past input. */
const at = (t: Tensor, r: number, h: number, s: number) => Array.from((t.data as Float32Array).subarray(((r * H + h) * t.dims[2]! + s) * D, ((r * H + h) * t.dims[2]! + s + 1) * D));

describe('BatchCache', () => {
  it('feeds an empty past before anything is cached', () => {
    const feeds: Record<string, Tensor> = {};
    BatchCache.empty(kvOf('new'), 3).feed(feeds);
    expect(feeds.pk!.dims).toEqual([3, H, 0, D]);
    expect(feeds.pv!.dims).toEqual([3, H, 0, D]);
  });

  it('writes new positions into spare slots that stay masked until filled, and feeds the same buffer every step', () => {
    const c = BatchCache.empty(kvOf('new'), 2, 3);
    c.append(outputs(2, 2, 0), [0, 1, 1, 1], 2);
    expect(c.slots).toBe(5);
    expect(c.mask).toEqual([0, 1, 0, 0, 0, 1, 1, 0, 0, 0]);
    const before: Record<string, Tensor> = {};
    c.feed(before);
    c.append(outputs(2, 1, 2), [1, 1], 1);
    const after: Record<string, Tensor> = {};
    c.feed(after);
    expect(after.pk!.data).toBe(before.pk!.data);
    expect(c.mask).toEqual([0, 1, 1, 0, 0, 1, 1, 1, 0, 0]);
    expect(at(after.pk!, 1, 1, 2)).toEqual([1120, 1121, 1122]);
    expect(at(after.pv!, 0, 1, 1)).toEqual([-110, -111, -112]);
    expect(at(after.pk!, 1, 0, 3)).toEqual([0, 0, 0]);
  });

  it('grows past its room keeping what it holds, and keeps or repeats rows', () => {
    const c = BatchCache.empty(kvOf('new'), 2, 0);
    c.append(outputs(2, 2, 0), [1, 1, 0, 1], 2);
    expect(c.slots).toBe(2);
    c.append(outputs(2, 1, 2), [1, 1], 1);
    expect(c.slots).toBe(4);
    expect(c.mask).toEqual([1, 1, 1, 0, 0, 1, 1, 0]);
    c.keepRows([1, 1, 0]);
    const feeds: Record<string, Tensor> = {};
    c.feed(feeds);
    expect(feeds.pk!.dims).toEqual([3, H, 4, D]);
    expect(c.mask).toEqual([0, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0]);
    expect(at(feeds.pk!, 0, 1, 0)).toEqual([1100, 1101, 1102]);
    expect(at(feeds.pk!, 1, 1, 2)).toEqual([1120, 1121, 1122]);
    expect(at(feeds.pk!, 2, 0, 2)).toEqual([20, 21, 22]);
  });

  it('takes whole-cache outputs as the next past and extends the mask', () => {
    const c = BatchCache.empty(kvOf('whole'), 2, 8);
    c.append(outputs(2, 2, 0), [0, 1, 1, 1], 2);
    const whole = outputs(2, 3, 0);
    c.append(whole, [1, 1], 1);
    const feeds: Record<string, Tensor> = {};
    c.feed(feeds);
    expect(feeds.pk).toBe(whole.ok);
    expect(c.slots).toBe(3);
    expect(c.mask).toEqual([0, 1, 1, 1, 1, 1]);
  });
});
