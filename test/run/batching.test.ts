import { describe, expect, it } from 'vitest';
import { padBatch, planBatches } from '../../src/run/batching.js';

describe('planBatches', () => {
  it('covers every item once, groups similar lengths, and respects batch and token limits', () => {
    const lengths = [5, 1, 9, 3, 3, 7, 2, 8, 4, 6];
    const { batches } = planBatches(lengths, { batchSize: 3, maxTokens: 20, exactLengths: false });
    expect(batches.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
    for (const b of batches) {
      expect(b.length).toBeLessThanOrEqual(3);
      const max = Math.max(...b.map((i) => lengths[i]!));
      expect(b.length === 1 || max * b.length <= 20).toBe(true);
    }
  });

  it('bounds the logits a pass returns, not its length, when only the last positions get logits', () => {
    const lengths = new Array<number>(64).fill(48);
    // Every position: 48 logits rows per prompt, 27 prompts to a 1,335-row bound.
    expect(planBatches(lengths, { batchSize: 64, maxTokens: 1335, exactLengths: false }).batches.map((b) => b.length)).toEqual([27, 27, 10]);
    // The last position only: one row each, the batch size is the limit.
    expect(planBatches(lengths, { batchSize: 64, maxTokens: 1335, exactLengths: false }, lengths.map(() => 1)).batches.map((b) => b.length)).toEqual([64]);
    // Teacher forcing keeps 1 + K positions: the widest item in a batch sets its bound.
    const kept = lengths.map((_, i) => (i === 0 ? 101 : 11));
    for (const b of planBatches(lengths, { batchSize: 64, maxTokens: 500, exactLengths: false }, kept).batches) {
      expect(b.length * Math.max(...b.map((i) => kept[i]!))).toBeLessThanOrEqual(500);
    }
  });

  it('keeps only equal lengths together when the graph cannot take position_ids', () => {
    const lengths = [4, 4, 5, 4, 5];
    const { batches } = planBatches(lengths, { batchSize: 8, maxTokens: 1e9, exactLengths: true });
    for (const b of batches) expect(new Set(b.map((i) => lengths[i])).size).toBe(1);
    expect(batches).toHaveLength(2);
  });
});

describe('padBatch', () => {
  it('left-pads with a mask and HF position ids (1 on padding)', () => {
    const p = padBatch([[7, 8, 9], [5]], 0, 'left');
    expect(p.width).toBe(3);
    expect(p.ids).toEqual([7, 8, 9, 0, 0, 5]);
    expect(p.mask).toEqual([1, 1, 1, 0, 0, 1]);
    expect(p.positions).toEqual([0, 1, 2, 1, 1, 0]);
    expect(p.offsets).toEqual([0, 2]);
  });

  it('right-pads for encoders', () => {
    const p = padBatch([[1], [2, 3]], 9, 'right');
    expect(p.ids).toEqual([1, 9, 2, 3]);
    expect(p.mask).toEqual([1, 0, 1, 1]);
  });
});
