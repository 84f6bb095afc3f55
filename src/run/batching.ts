/**
 * Group items into batches. Sorting by length keeps padding small; graphs that cannot take
 * position_ids must see equal lengths (left padding would shift their positions), so they batch
 * only identical lengths.
 */
export interface BatchPlan {
  /** Indices into the caller's items, one array per batch. */
  batches: number[][];
}

export interface BatchLimits {
  batchSize: number;
  /** Upper bound on rows × logits positions per row, to bound the [B, T, V] logits ORT copies out. */
  maxTokens: number;
  exactLengths: boolean;
}

/**
 * `logitsLengths[i]`: the positions item i's pass returns logits for (default: its whole length).
 * A graph that takes num_logits_to_keep returns only the last one or few, so the bound on
 * logits must not cap a batch of long prompts whose logits are one row each.
 */
export function planBatches(lengths: readonly number[], limits: BatchLimits, logitsLengths: readonly number[] = lengths): BatchPlan {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const batches: number[][] = [];
  let cur: number[] = [];
  let curMax = 0;
  let curLogits = 0;
  for (const i of order) {
    const len = lengths[i]!;
    const newLogits = Math.max(curLogits, logitsLengths[i]!);
    const full =
      cur.length >= limits.batchSize ||
      (cur.length > 0 && newLogits * (cur.length + 1) > limits.maxTokens) ||
      (limits.exactLengths && cur.length > 0 && len !== curMax);
    if (full) {
      batches.push(cur);
      cur = [];
    }
    cur.push(i);
    curMax = cur.length === 1 ? len : Math.max(curMax, len);
    curLogits = cur.length === 1 ? logitsLengths[i]! : Math.max(curLogits, logitsLengths[i]!);
  }
  if (cur.length) batches.push(cur);
  return { batches };
}

export type PadSide = 'left' | 'right';

export interface PaddedBatch {
  /** Row-major [rows, width]. */
  ids: number[];
  mask: number[];
  /** HF convention: running count of real tokens minus one, 1 on padding slots. */
  positions: number[];
  width: number;
  /** Where each row's first real token sits. */
  offsets: number[];
}

export function padBatch(rows: readonly (readonly number[])[], padId: number, side: PadSide): PaddedBatch {
  const width = rows.reduce((m, r) => Math.max(m, r.length), 0);
  const n = rows.length * width;
  const ids = new Array<number>(n).fill(padId);
  const mask = new Array<number>(n).fill(0);
  const positions = new Array<number>(n).fill(1);
  const offsets: number[] = [];
  rows.forEach((r, b) => {
    const off = side === 'left' ? width - r.length : 0;
    offsets.push(off);
    for (let t = 0; t < r.length; t++) {
      ids[b * width + off + t] = r[t]!;
      mask[b * width + off + t] = 1;
      positions[b * width + off + t] = t;
    }
  });
  return { ids, mask, positions, width, offsets };
}
