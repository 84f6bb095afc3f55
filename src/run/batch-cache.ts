/**
 * A batch's KV cache between forward passes, and which of its slots hold real tokens (the past
 * part of the next pass's attention mask).
 *
 * Exported graphs (present.*) return the whole cache, past and new positions, which is the next
 * pass's past as it is. The graph builder's graphs (new_key_values.*) return only the new
 * positions: they are written here into buffers with spare slots, which are fed whole at every
 * pass with the unfilled slots masked out. A decoding step then allocates and copies nothing the
 * size of the cache; with whole caches each step copied it twice inside the graph and once more
 * out to JS into fresh memory, more time than the step's matrix products at batch 64.
 */
import type { KvCache } from '../model/io-signature.js';
import { emptyFloatTensor, floatTensor, selectBatchRows, type Tensor } from './tensors.js';

type KvArray = Float32Array | Uint16Array;
type Outputs = Readonly<Record<string, Tensor>>;

export class BatchCache {
  private constructor(
    private readonly kv: KvCache,
    /** The past inputs, by input name; undefined while nothing is cached. */
    private past: Record<string, Tensor> | undefined,
    private rowCount: number,
    /** rows × slots: 1 where the slot holds a real token. */
    private maskData: number[],
    /** Slots per row fed as the past (the buffers' capacity for `new` graphs). */
    private slotCount: number,
    /** Filled slots (the same for every row: padding is masked, not left out). */
    private used: number,
    /** Spare slots to allocate beyond what an append needs, for the passes still to come. */
    private readonly reserve: number,
  ) {}

  /** Nothing cached yet: the past a prefill is fed. `reserve`: positions expected after the first append. */
  static empty(kv: KvCache, rows: number, reserve = 0): BatchCache {
    return new BatchCache(kv, undefined, rows, [], 0, 0, reserve);
  }

  /**
   * A cache assembled by the caller: per past input name a [.., rows, heads, width, head_dim]
   * tensor, with `mask` (rows × width) marking its real slots.
   */
  static of(kv: KvCache, past: Record<string, Tensor>, rows: number, mask: number[], width: number, reserve = 0): BatchCache {
    return new BatchCache(kv, past, rows, mask, width, width, reserve);
  }

  get rows(): number {
    return this.rowCount;
  }

  /** Past slots per row the next pass sees; its attention mask starts with `mask` over them. */
  get slots(): number {
    return this.slotCount;
  }

  /** rows × slots, row-major: 1 where a slot holds a real token. */
  get mask(): readonly number[] {
    return this.maskData;
  }

  /** Set the past inputs of a pass. */
  feed(feeds: Record<string, Tensor>): void {
    const kv = this.kv;
    const dims = kv.kind === 'stacked' ? [2, this.rowCount, kv.heads, 0, kv.headDim] : [this.rowCount, kv.heads, 0, kv.headDim];
    for (const names of kv.pastNames) for (const n of names) feeds[n] = this.past?.[n] ?? emptyFloatTensor(kv.dtype, dims);
  }

  /**
   * Take in a pass that fed `T` tokens per row after this cache (`newMask`: rows × T, 1 on real
   * tokens) and returned `out`'s cache outputs.
   */
  append(out: Outputs, newMask: readonly number[], T: number): void {
    const R = this.rowCount;
    const S = this.slotCount;
    const kv = this.kv;
    if (kv.presents === 'whole') {
      const past: Record<string, Tensor> = {};
      kv.pastNames.forEach((names, l) => names.forEach((n, j) => (past[n] = out[kv.presentNames[l]![j]!]!)));
      const mask = new Array<number>(R * (S + T));
      for (let r = 0; r < R; r++) {
        for (let s = 0; s < S; s++) mask[r * (S + T) + s] = this.maskData[r * S + s]!;
        for (let t = 0; t < T; t++) mask[r * (S + T) + S + t] = newMask[r * T + t]!;
      }
      this.past = past;
      this.maskData = mask;
      this.slotCount = this.used = S + T;
      return;
    }
    if (this.used + T > S) this.grow(Math.max(this.used + T + this.reserve, 2 * S));
    const C = this.slotCount;
    const H = kv.heads;
    const D = kv.headDim;
    kv.pastNames.forEach((names, l) =>
      names.forEach((n, j) => {
        const src = out[kv.presentNames[l]![j]!]!.data as KvArray;
        const dst = this.past![n]!.data as KvArray;
        // [R, H, T, D] into slots used..used+T of [R, H, C, D]: one block per (row, head).
        for (let rh = 0; rh < R * H; rh++) dst.set(src.subarray(rh * T * D, (rh + 1) * T * D), (rh * C + this.used) * D);
      }),
    );
    for (let r = 0; r < R; r++) for (let t = 0; t < T; t++) this.maskData[r * C + this.used + t] = newMask[r * T + t]!;
    this.used += T;
  }

  /** Keep these rows, in this order (a row may repeat: one cached prefix copied to many rows). */
  keepRows(rows: readonly number[]): void {
    const S = this.slotCount;
    const axis = this.kv.kind === 'stacked' ? 1 : 0;
    if (this.past) {
      const past: Record<string, Tensor> = {};
      for (const [n, t] of Object.entries(this.past)) past[n] = selectBatchRows(t, axis, rows);
      this.past = past;
    }
    this.maskData = rows.flatMap((r) => this.maskData.slice(r * S, (r + 1) * S));
    this.rowCount = rows.length;
  }

  /** Buffers of `capacity` slots per row (`new` graphs only, always separate [R, H, C, D]), the filled slots copied over. */
  private grow(capacity: number): void {
    const kv = this.kv;
    const R = this.rowCount;
    const H = kv.heads;
    const D = kv.headDim;
    const S = this.slotCount;
    const past: Record<string, Tensor> = {};
    for (const names of kv.pastNames) {
      for (const n of names) {
        const data = kv.dtype === 'float16' ? new Uint16Array(R * H * capacity * D) : new Float32Array(R * H * capacity * D);
        const old = this.past?.[n]?.data as KvArray | undefined;
        if (old) for (let rh = 0; rh < R * H; rh++) data.set(old.subarray(rh * S * D, rh * S * D + this.used * D), rh * capacity * D);
        past[n] = floatTensor(kv.dtype, data, [R, H, capacity, D]);
      }
    }
    const mask = new Array<number>(R * capacity).fill(0);
    for (let r = 0; r < R; r++) for (let s = 0; s < this.used; s++) mask[r * capacity + s] = this.maskData[r * S + s]!;
    this.past = past;
    this.maskData = mask;
    this.slotCount = capacity;
  }
}
