/**
 * Many continuations of a few shared prefixes, one token at a time: the primitive behind target
 * inversion, which tries every vocabulary token as the first answer token after a handful of prompts.
 * Each prompt is read once; its KV cache is copied into as many rows as continue from it, so a
 * 50k-token vocabulary costs 50k single-token steps, not 50k prompt prefills. Graphs without a KV
 * cache recompute the whole sequence at every step (same results, slower).
 */
import type ort from 'onnxruntime-node';
import type { KvCache } from '../model/io-signature.js';
import { BatchCache } from './batch-cache.js';
import type { Engine } from './causal-lm.js';
import { boolTensor, floatTensor, intTensor, LogitsRows, type Tensor } from './tensors.js';

type KvArray = Float32Array | Uint16Array;

/** A set of prompts read once: their tokens, next-token logits and (when the graph has one) KV cache. */
export interface Prefixes {
  ids: number[][];
  /** Per prompt, one compact array per past input name: [H, len, D] (separate) or [2, H, len, D] (stacked). */
  kv: Map<string, KvArray>[] | undefined;
  /** Per prompt, the logits predicting the first token after it (a copy). */
  next: Float32Array[];
}

const perRow = (kv: KvCache) => (kv.kind === 'stacked' ? 2 : 1);

/** Copy row b's last `len` positions of a [.., B, H, T, D] present tensor into a compact [.., H, len, D]. */
function sliceRow(t: ort.Tensor, kv: KvCache, b: number, len: number): KvArray {
  const dims = t.dims;
  const stacked = kv.kind === 'stacked';
  const B = dims[stacked ? 1 : 0]!;
  const H = dims[stacked ? 2 : 1]!;
  const T = dims[stacked ? 3 : 2]!;
  const D = dims[stacked ? 4 : 3]!;
  const src = t.data as KvArray;
  const out = new (src.constructor as new (n: number) => KvArray)(perRow(kv) * H * len * D);
  for (let s = 0; s < perRow(kv); s++) {
    for (let h = 0; h < H; h++) {
      const from = (((s * B + b) * H + h) * T + (T - len)) * D;
      out.set(src.subarray(from, from + len * D), ((s * H + h) * len) * D);
    }
  }
  return out;
}

export async function readPrefixes(engine: Engine, prompts: readonly (readonly number[])[]): Promise<Prefixes> {
  const { io } = engine.model;
  const kv = io.kv;
  const out: Prefixes = { ids: prompts.map((p) => [...p]), kv: kv ? prompts.map(() => new Map()) : undefined, next: new Array(prompts.length) };
  await engine.forEachBatch(
    prompts.map((p) => p.length),
    async (idx) => {
      const { feeds, padded, kept } = engine.prefillFeeds(idx.map((i) => prompts[i]!), 1);
      const fetch = [io.logits.name, ...(kv ? kv.presentNames.flat() : [])];
      const res = await engine.run(feeds, fetch, idx.length * padded.width);
      const logits = new LogitsRows(res[io.logits.name]!, engine.vocab);
      idx.forEach((i, b) => {
        out.next[i] = logits.rows(b * kept + kept - 1).slice();
        if (kv) kv.pastNames.forEach((names, l) => names.forEach((n, j) => out.kv![i]!.set(n, sliceRow(res[kv.presentNames[l]![j]!]!, kv, b, prompts[i]!.length))));
      });
    },
    prompts.map(() => 1),
  );
  return out;
}

/**
 * Rows continuing from prefixes. `step(tokens)` appends one token per row and returns the logits
 * predicting the next one ([rows × V], valid until the next call); `keep(rows)` drops the others.
 */
export class Fork {
  private cache: BatchCache | undefined;
  private readonly lengths: number[];
  /** Only for graphs without a cache: every row's whole sequence. */
  private seqs: number[][] | undefined;

  private constructor(
    private readonly engine: Engine,
    private rowsPrefix: number[],
    prefixes: Prefixes,
    steps: number,
  ) {
    const { kv } = engine.model.io;
    this.lengths = rowsPrefix.map((p) => prefixes.ids[p]!.length);
    if (!kv || !prefixes.kv) {
      this.seqs = rowsPrefix.map((p) => [...prefixes.ids[p]!]);
      return;
    }
    // Left-padded past: each row's prefix cache right-aligned in a [.., R, H, W, D] tensor.
    const R = rowsPrefix.length;
    const H = kv.heads;
    const D = kv.headDim;
    const W = Math.max(0, ...this.lengths);
    const mask: number[] = [];
    for (const len of this.lengths) for (let t = 0; t < W; t++) mask.push(t >= W - len ? 1 : 0);
    const past: Record<string, Tensor> = {};
    for (const names of kv.pastNames) {
      for (const n of names) {
        const proto = prefixes.kv[rowsPrefix[0]!]!.get(n)!;
        const data = new (proto.constructor as new (k: number) => KvArray)(perRow(kv) * R * H * W * D);
        rowsPrefix.forEach((p, r) => {
          const src = prefixes.kv![p]!.get(n)!;
          const len = this.lengths[r]!;
          for (let s = 0; s < perRow(kv); s++) {
            for (let h = 0; h < H; h++) {
              const from = ((s * H + h) * len) * D;
              const to = (((s * R + r) * H + h) * W + (W - len)) * D;
              data.set(src.subarray(from, from + len * D), to);
            }
          }
        });
        const dims = kv.kind === 'stacked' ? [2, R, H, W, D] : [R, H, W, D];
        past[n] = floatTensor(kv.dtype, data, dims);
      }
    }
    this.cache = BatchCache.of(kv, past, R, mask, W, steps);
  }

  /** `steps`: how many steps the caller expects to take (room in the cache; more still work). */
  static open(engine: Engine, prefixes: Prefixes, rowsPrefix: readonly number[], steps = 8): Fork {
    return new Fork(engine, [...rowsPrefix], prefixes, steps);
  }

  get rows(): number {
    return this.rowsPrefix.length;
  }

  /** Which prefix each row continues. */
  get prefixOf(): readonly number[] {
    return this.rowsPrefix;
  }

  async step(tokens: readonly number[]): Promise<LogitsRows> {
    const e = this.engine;
    const io = e.model.io;
    const R = this.rows;
    if (tokens.length !== R) throw new Error(`fork step: ${tokens.length} tokens for ${R} rows`);
    if (this.seqs) {
      this.seqs.forEach((s, r) => s.push(tokens[r]!));
      const { feeds, padded, kept } = e.prefillFeeds(this.seqs, 1);
      const res = await e.run(feeds, [io.logits.name], R * padded.width);
      const all = new LogitsRows(res[io.logits.name]!, e.vocab);
      // Keep only each row's last position, in row order.
      const out = new Float32Array(R * e.vocab);
      for (let r = 0; r < R; r++) out.set(all.rows(r * kept + kept - 1), r * e.vocab);
      return LogitsRows.of(out, e.vocab);
    }
    const kv = io.kv!;
    const cache = this.cache!;
    const W = cache.slots;
    const mask = new Array<number>(R * (W + 1));
    for (let r = 0; r < R; r++) {
      for (let t = 0; t < W; t++) mask[r * (W + 1) + t] = cache.mask[r * W + t]!;
      mask[r * (W + 1) + W] = 1;
    }
    const feeds: Record<string, Tensor> = { [io.inputIds.name]: intTensor(io.inputIds.dtype, [...tokens], [R, 1]) };
    if (io.attentionMask) feeds[io.attentionMask.name] = intTensor(io.attentionMask.dtype, mask, [R, W + 1]);
    if (io.positionIds) feeds[io.positionIds.name] = intTensor(io.positionIds.dtype, this.lengths, [R, 1]);
    if (io.tokenTypeIds) feeds[io.tokenTypeIds.name] = intTensor(io.tokenTypeIds.dtype, new Array<number>(R).fill(0), [R, 1]);
    if (io.useCacheBranch) feeds[io.useCacheBranch] = boolTensor(true);
    // A graph that declares num_logits_to_keep (built from a checkpoint) must be fed it.
    e.keepLogits(feeds, 1, 1);
    cache.feed(feeds);
    const res = await e.run(feeds, [io.logits.name, ...kv.presentNames.flat()], R);
    cache.append(res, new Array<number>(R).fill(1), 1);
    for (let r = 0; r < R; r++) this.lengths[r]!++;
    return new LogitsRows(res[io.logits.name]!, e.vocab);
  }

  /** Keep only these rows (indices into the current rows, in the order given). */
  keep(rows: readonly number[]): void {
    this.rowsPrefix = rows.map((r) => this.rowsPrefix[r]!);
    const lengths = rows.map((r) => this.lengths[r]!);
    this.lengths.length = 0;
    this.lengths.push(...lengths);
    if (this.seqs) this.seqs = rows.map((r) => this.seqs![r]!);
    else this.cache!.keepRows(rows);
  }
}
