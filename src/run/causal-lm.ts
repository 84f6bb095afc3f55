import type ort from 'onnxruntime-node';
import type { LoadedModel } from '../model/load-model.js';
import { BatchCache } from './batch-cache.js';
import { padBatch, planBatches } from './batching.js';
import { RowKernels } from './row-kernels.js';
import { boolTensor, intTensor, LogitsRows, type Tensor } from './tensors.js';

export interface RunnerOptions {
  /** Rows per forward pass. */
  batchSize?: number | undefined;
  /** Bound on logits bytes one pass may copy out of ORT (B × T × V × 4). */
  maxLogitsBytes?: number | undefined;
  /** Greedy decoding drops rows that reached end-of-sequence from the batch (default on; off to measure it). */
  dropFinished?: boolean | undefined;
  /**
   * A batch whose rows all start with at least this many equal tokens reads them once (default 4;
   * 0 turns it off): a chat template's head, the prompt before a searched candidate.
   */
  sharedPrefixMin?: number | undefined;
}

/** How a prefill laid its rows out: row b's token t (past any shared prefix) sits at `offsets[b] + t`. */
export interface PrefillLayout {
  width: number;
  offsets: number[];
}

/** A prefill's logits output (the last `kept` positions of `layout.width`) and, when asked for, its cache. */
interface Prefilled {
  logits: Tensor;
  cache: BatchCache | undefined;
  layout: PrefillLayout;
  kept: number;
}

function commonPrefixLength(rows: readonly (readonly number[])[]): number {
  const first = rows[0] ?? [];
  let n = first.length;
  for (const r of rows) {
    let k = 0;
    while (k < n && k < r.length && r[k] === first[k]) k++;
    n = k;
  }
  return n;
}

export interface Generation {
  tokens: number[];
  /** True when the model emitted an end-of-sequence id (not included in tokens). */
  stopped: boolean;
  /** Next-token logits at each generated step, when asked for. */
  stepLogits?: Float32Array[];
}

export interface RunStats {
  forwardPasses: number;
  /** Tokens fed to the model, padding included. */
  tokensIn: number;
  prefillTokens: number;
  decodeTokens: number;
  /** Wall time inside onnxruntime (the rest of a run's time is the JS side: scoring, argmax, copies). */
  runMs: number;
  /** Of which single-token steps (decoding, fork steps): memory-bound, the least efficient passes. */
  stepRunMs: number;
}

export interface TeacherForceItem {
  prompt: readonly number[];
  continuation: readonly number[];
}

type Feeds = Record<string, Tensor>;

/** Gets one item's logits (a view, valid until the promise it returns settles). */
export type LogitsCallback = (index: number, logits: Float32Array) => unknown;

/** The engine's batching and bookkeeping, for runners built on top of it (src/run/fork.ts). */
export interface Engine {
  readonly model: LoadedModel;
  readonly vocab: number;
  /** Whole-vocabulary row arithmetic (softmax means, divergences, log-probs) in onnxruntime. */
  readonly kernels: RowKernels;
  run(feeds: Feeds, fetch: string[], tokens: number): Promise<ort.InferenceSession.ReturnType>;
  /** `keep`: logits for the last `keep` positions only (0 = all), where the graph allows; `kept`: positions returned. */
  prefillFeeds(rows: readonly (readonly number[])[], keep?: number): { feeds: Feeds; padded: { width: number; mask: number[]; offsets: number[] }; kept: number };
  /** `logitsLengths`: positions whose logits each item's pass returns where the graph keeps only some (see planBatches). */
  forEachBatch(lengths: number[], fn: (indices: number[]) => Promise<void>, logitsLengths?: readonly number[]): Promise<void>;
  /** Ask for logits at the last `keep` positions only when the graph takes num_logits_to_keep; returns the positions the logits will have. */
  keepLogits(feeds: Feeds, keep: number, width: number): number;
}

export interface GenerateOptions {
  /** Keep each step's next-token logits (for checks and analysis; costs V floats per step). */
  keepLogits?: boolean;
  stopAtEos?: boolean;
  /** Re-run the whole sequence at every step instead of using the KV cache (the naive baseline). */
  recompute?: boolean;
  /** Sample at this temperature instead of taking the argmax (needs `rng`). */
  temperature?: number;
  rng?: () => number;
}

/** Draw a token from softmax(row / temperature); deterministic for a seeded rng. */
function sampleToken(row: Float32Array, temperature: number, rng: () => number): number {
  let max = -Infinity;
  for (let v = 0; v < row.length; v++) if (row[v]! > max) max = row[v]!;
  let sum = 0;
  for (let v = 0; v < row.length; v++) sum += Math.exp((row[v]! - max) / temperature);
  let u = rng() * sum;
  for (let v = 0; v < row.length; v++) {
    u -= Math.exp((row[v]! - max) / temperature);
    if (u <= 0) return v;
  }
  return row.length - 1;
}

/**
 * Batched forward passes over a causal LM graph: next-token logits, greedy decoding with the
 * KV cache, and teacher-forced scoring of a given continuation in a single pass.
 */
export class CausalLM {
  readonly vocab: number;
  readonly stats: RunStats = { forwardPasses: 0, tokensIn: 0, prefillTokens: 0, decodeTokens: 0, runMs: 0, stepRunMs: 0 };
  private readonly batchSize: number;
  private readonly maxTokens: number;
  private readonly dropFinished: boolean;
  private readonly sharedPrefixMin: number;
  /** Whether the graph accepts a multi-token chunk after a KV cache; learnt on first use. */
  private chunkAfterCache: boolean | undefined;

  constructor(
    private readonly model: LoadedModel,
    opts: RunnerOptions = {},
  ) {
    if (model.io.task !== 'causal-lm') throw new Error('CausalLM needs a graph with [batch, seq, vocab] logits');
    this.vocab = model.embedding?.rows ?? model.config.vocabSize ?? 0;
    this.batchSize = opts.batchSize ?? 16;
    this.dropFinished = opts.dropFinished ?? true;
    this.sharedPrefixMin = opts.sharedPrefixMin ?? 4;
    this.kernels = new RowKernels(this.vocab, model.threads);
    const bytes = opts.maxLogitsBytes ?? 256 * 1024 * 1024;
    this.maxTokens = Math.max(1, Math.floor(bytes / (4 * Math.max(1, this.vocab))));
  }

  /** Whole-vocabulary row arithmetic in onnxruntime, on the model's threads; released by `release()`. */
  readonly kernels: RowKernels;

  /** Counted like every other pass (stats), batched like every other pass. */
  engine(): Engine {
    return {
      model: this.model,
      vocab: this.vocab,
      kernels: this.kernels,
      run: (feeds, fetch, tokens) => this.run(feeds, fetch, tokens),
      prefillFeeds: (rows, keep) => this.prefillFeeds(rows, keep),
      forEachBatch: (lengths, fn, logitsLengths) => this.forEachBatch(lengths, fn, logitsLengths),
      keepLogits: (feeds, keep, width) => this.keepLogits(feeds, keep, width),
    };
  }

  /** The helper sessions of `kernels` (the model's own session is the caller's). */
  release(): Promise<void> {
    return this.kernels.release();
  }

  private get exactLengths(): boolean {
    // Without a position_ids input the graph numbers positions itself, so left padding would shift them.
    return this.model.io.positionIds === undefined;
  }

  /**
   * Ask for logits at the last `keep` positions only (0 = all) when the graph takes
   * num_logits_to_keep; returns how many positions the logits will have.
   */
  private keepLogits(feeds: Feeds, keep: number, width: number): number {
    const k = this.model.io.logitsToKeep;
    if (!k) return width;
    feeds[k.name] = intTensor('int64', [keep], k.dims);
    return keep > 0 ? Math.min(keep, width) : width;
  }

  /** `kept`: logits positions the run returns, the last `kept` of the padded width. */
  private prefillFeeds(rows: readonly (readonly number[])[], keep = 0) {
    const io = this.model.io;
    const p = padBatch(rows, this.model.padId, 'left');
    const dims = [rows.length, p.width];
    const feeds: Feeds = { [io.inputIds.name]: intTensor(io.inputIds.dtype, p.ids, dims) };
    if (io.kv) BatchCache.empty(io.kv, rows.length).feed(feeds);
    const kept = this.keepLogits(feeds, keep, p.width);
    if (io.attentionMask) feeds[io.attentionMask.name] = intTensor(io.attentionMask.dtype, p.mask, dims);
    if (io.positionIds) feeds[io.positionIds.name] = intTensor(io.positionIds.dtype, p.positions, dims);
    if (io.tokenTypeIds) feeds[io.tokenTypeIds.name] = intTensor(io.tokenTypeIds.dtype, new Array<number>(p.ids.length).fill(0), dims);
    if (io.useCacheBranch) feeds[io.useCacheBranch] = boolTensor(false);
    return { feeds, padded: p, kept };
  }

  private async run(feeds: Feeds, fetch: string[], tokens: number): Promise<ort.InferenceSession.ReturnType> {
    const t0 = performance.now();
    const out = await this.model.session.run(feeds, fetch);
    const ms = performance.now() - t0;
    // Counted once it succeeded: a refused pass (see chunkAfterCache) is not work done.
    if (this.counting) {
      this.stats.forwardPasses++;
      this.stats.tokensIn += tokens;
      this.stats.runMs += ms;
      if (feeds[this.model.io.inputIds.name]!.dims[1] === 1) this.stats.stepRunMs += ms;
    }
    return out;
  }

  /** Off while the engine learns what the graph accepts: that is not the scan's work. */
  private counting = true;

  /**
   * Whether the graph takes a multi-token chunk after a KV cache, learnt once on a two-token row
   * before any real batch, so that every batch of a scan is run the same way whichever ran first
   * (a work unit's outcomes and counters must not depend on the units before it).
   */
  private async learnChunkAfterCache(): Promise<void> {
    if (this.chunkAfterCache !== undefined || !this.model.io.kv) return;
    const pad = this.model.padId;
    const stats = { ...this.stats };
    this.counting = false;
    try {
      await this.generateBatch([[pad, pad]], 1, {}, { continuations: [[pad, pad, pad]], onScore: () => undefined });
      this.chunkAfterCache = true;
    } catch {
      // Some exporters (ORT-genai) build attention masks that only allow a full prefill or a
      // single-token step; such graphs refuse a multi-token chunk after a cache.
      this.chunkAfterCache = false;
    } finally {
      this.counting = true;
      Object.assign(this.stats, stats);
    }
  }

  private async forEachBatch(lengths: number[], fn: (indices: number[]) => Promise<void>, logitsLengths?: readonly number[]): Promise<void> {
    // Without num_logits_to_keep every position gets logits, whatever the caller reads.
    const logits = this.model.io.logitsToKeep && logitsLengths ? logitsLengths : lengths;
    const plan = planBatches(lengths, { batchSize: this.batchSize, maxTokens: this.maxTokens, exactLengths: this.exactLengths }, logits);
    for (const b of plan.batches) await fn(b);
  }

  /** The outputs a pass fetches: the logits, and the cache outputs when the cache is kept. */
  private fetchNames(withCache: boolean): string[] {
    const io = this.model.io;
    return [io.logits.name, ...(withCache && io.kv ? io.kv.presentNames.flat() : [])];
  }

  /**
   * A batch's prefill: one pass over the left-padded rows; or, when every row starts with the same
   * `sharedPrefixMin`+ tokens, that shared part read once for one row, its KV cache copied to every
   * row, and each row's rest fed after it (padded in the middle, which the mask hides; positions are
   * those of one pass). `maxShared` caps the shared part (positions the caller reads must follow it).
   * `reserve`: positions the cache will be extended by (decoding steps), when it is kept.
   */
  private async prefill(rows: readonly (readonly number[])[], keep: number, withCache: boolean, maxShared: number, reserve = 0): Promise<Prefilled> {
    const io = this.model.io;
    let shared = 0;
    if (io.kv && io.positionIds && io.attentionMask && this.sharedPrefixMin > 0 && rows.length > 1 && this.chunkAfterCache !== false) {
      shared = Math.min(commonPrefixLength(rows), maxShared, ...rows.map((r) => r.length - 1));
    }
    if (shared >= this.sharedPrefixMin) {
      try {
        const r = await this.sharedPrefill(rows, shared, keep, withCache, reserve);
        this.chunkAfterCache = true;
        return r;
      } catch (err) {
        // A graph that takes no multi-token chunk after a cache (ORT-genai exports) reads every row whole.
        if (this.chunkAfterCache === true) throw err;
        this.chunkAfterCache = false;
      }
    }
    return this.prefillOnce(rows, keep, withCache, reserve);
  }

  /** One left-padded pass, never sharing a prefix. */
  private async prefillOnce(rows: readonly (readonly number[])[], keep: number, withCache: boolean, reserve = 0): Promise<Prefilled> {
    const kv = this.model.io.kv;
    const { feeds, padded, kept } = this.prefillFeeds(rows, keep);
    const out = await this.run(feeds, this.fetchNames(withCache), rows.length * padded.width);
    this.stats.prefillTokens += rows.length * padded.width;
    let cache: BatchCache | undefined;
    if (withCache && kv) {
      cache = BatchCache.empty(kv, rows.length, reserve);
      cache.append(out, padded.mask, padded.width);
    }
    return { logits: out[this.model.io.logits.name]!, cache, layout: padded, kept };
  }

  private async sharedPrefill(rows: readonly (readonly number[])[], shared: number, keep: number, withCache: boolean, reserve: number): Promise<Prefilled> {
    const io = this.model.io;
    const kv = io.kv!;
    const B = rows.length;
    const rests = rows.map((r) => r.slice(shared));
    const W = Math.max(...rests.map((r) => r.length));
    const head = this.prefillFeeds([rows[0]!.slice(0, shared)], 1);
    const h = await this.run(head.feeds, this.fetchNames(true), shared);
    this.stats.prefillTokens += shared;
    // Room for the rest and the decoding steps, only when the cache is kept (spare slots cost attention).
    const cache = BatchCache.empty(kv, 1, withCache ? W + reserve : 0);
    cache.append(h, head.padded.mask, shared);
    cache.keepRows(new Array<number>(B).fill(0));
    const S = cache.slots;
    const ids: number[] = [];
    const mask: number[] = [];
    const restMask: number[] = [];
    const pos: number[] = [];
    const offsets: number[] = [];
    rests.forEach((r, b) => {
      const gap = W - r.length;
      offsets.push(gap);
      for (let s = 0; s < S; s++) mask.push(cache.mask[b * S + s]!);
      for (let t = 0; t < gap; t++) (ids.push(this.model.padId), restMask.push(0), pos.push(1));
      r.forEach((id, t) => (ids.push(id), restMask.push(1), pos.push(shared + t)));
      for (let t = 0; t < W; t++) mask.push(restMask[b * W + t]!);
    });
    const feeds: Feeds = { [io.inputIds.name]: intTensor(io.inputIds.dtype, ids, [B, W]) };
    feeds[io.attentionMask!.name] = intTensor(io.attentionMask!.dtype, mask, [B, S + W]);
    feeds[io.positionIds!.name] = intTensor(io.positionIds!.dtype, pos, [B, W]);
    if (io.tokenTypeIds) feeds[io.tokenTypeIds.name] = intTensor(io.tokenTypeIds.dtype, new Array<number>(ids.length).fill(0), [B, W]);
    if (io.useCacheBranch) feeds[io.useCacheBranch] = boolTensor(true);
    const kept = this.keepLogits(feeds, keep, W);
    cache.feed(feeds);
    const out = await this.run(feeds, this.fetchNames(withCache), B * W);
    this.stats.prefillTokens += B * W;
    if (withCache) cache.append(out, restMask, W);
    return { logits: out[io.logits.name]!, cache: withCache ? cache : undefined, layout: { width: shared + W, offsets }, kept };
  }

  /**
   * Teacher forcing: for each item, the logits that predict each continuation token, in one forward
   * pass per batch. `onItem` gets a [K × V] array (a view, valid only during the call).
   */
  async teacherForce(items: readonly TeacherForceItem[], onItem: LogitsCallback): Promise<void> {
    const V = this.vocab;
    const seqs = items.map((it) => [...it.prompt, ...it.continuation]);
    await this.forEachBatch(
      seqs.map((s) => s.length),
      async (idx) => {
        // Rows are right-aligned, so every continuation's predicting positions lie in the last maxK + 1.
        const keep = 1 + Math.max(...idx.map((i) => items[i]!.continuation.length));
        // A shared prefix must end before the first predicting position (each prompt's last token).
        const maxShared = Math.min(...idx.map((i) => items[i]!.prompt.length - 1));
        const { logits: out, layout: padded, kept } = await this.prefill(idx.map((i) => seqs[i]!), keep, false, maxShared);
        const logits = new LogitsRows(out, V);
        const first = padded.width - kept;
        for (const [b, i] of idx.entries()) {
          const it = items[i]!;
          // Position t's logits predict token t+1; the first continuation token is predicted at the prompt's last slot.
          await onItem(i, logits.rows(b * kept + padded.offsets[b]! + it.prompt.length - 1 - first, it.continuation.length));
        }
      },
      items.map((it) => 1 + it.continuation.length),
    );
  }

  /** Logits for the token after each prompt (the first-token distribution). Copies, safe to keep. */
  async nextTokenLogits(prompts: readonly (readonly number[])[]): Promise<Float32Array[]> {
    const out: Float32Array[] = new Array(prompts.length);
    const V = this.vocab;
    await this.forEachBatch(
      prompts.map((p) => p.length),
      async (idx) => {
        const { logits: res, kept } = await this.prefill(idx.map((i) => prompts[i]!), 1, false, Infinity);
        const logits = new LogitsRows(res, V);
        idx.forEach((i, b) => (out[i] = logits.rows(b * kept + kept - 1).slice()));
      },
      prompts.map(() => 1),
    );
    return out;
  }

  /**
   * Teacher forcing and greedy decoding of the same prompts, sharing one prefill: the clean
   * continuation is fed after the prompt's KV cache, and decoding starts again from that same cache.
   * Saves re-reading every prompt, which is most of a scan's tokens. Graphs without a cache fall
   * back to two separate runs.
   */
  async scoreAndGenerate(
    items: readonly TeacherForceItem[],
    maxNewTokens: number,
    onScore: LogitsCallback,
  ): Promise<Generation[]> {
    const separately = async (sub: readonly number[]) => {
      await this.teacherForce(sub.map((i) => items[i]!), (j, logits) => onScore(sub[j]!, logits));
      return this.generate(sub.map((i) => items[i]!.prompt), maxNewTokens);
    };
    const all = items.map((_, i) => i);
    await this.learnChunkAfterCache();
    if (!this.model.io.kv || this.chunkAfterCache === false) return separately(all);
    const results: Generation[] = new Array(items.length);
    await this.forEachBatch(
      items.map((it) => it.prompt.length),
      async (idx) => {
        const gens = await this.generateBatch(idx.map((i) => items[i]!.prompt), maxNewTokens, {}, {
          continuations: idx.map((i) => items[i]!.continuation),
          onScore: (b, logits) => onScore(idx[b]!, logits),
        });
        idx.forEach((i, b) => (results[i] = gens[b]!));
      },
      // The prefill's last position; the continuation chunk after it is bounded by maxNewTokens.
      items.map(() => 1),
    );
    return results;
  }

  /** Greedy decoding with the KV cache, left-padded batches. */
  async generate(
    prompts: readonly (readonly number[])[],
    maxNewTokens: number,
    opts: GenerateOptions = {},
  ): Promise<Generation[]> {
    const results: Generation[] = new Array(prompts.length);
    await this.forEachBatch(
      prompts.map((p) => p.length),
      async (idx) => {
        const gens = await this.generateBatch(idx.map((i) => prompts[i]!), maxNewTokens, opts);
        idx.forEach((i, b) => (results[i] = gens[b]!));
      },
      prompts.map(() => 1),
    );
    return results;
  }

  /** Feed each row's continuation after the prefill cache and hand over the logits predicting it. */
  private async scoreAfterPrefill(
    prefill: Prefilled & { cache: BatchCache },
    rows: readonly (readonly number[])[],
    score: { continuations: readonly (readonly number[])[]; onScore: LogitsCallback },
  ): Promise<void> {
    const io = this.model.io;
    const V = this.vocab;
    const B = rows.length;
    const { cache, kept } = prefill;
    const W = cache.slots;
    const first = new LogitsRows(prefill.logits, V);
    // The first continuation token is predicted by the prompt's last position; the rest by the
    // continuation's own positions, so the chunk holds all but the last continuation token.
    const chunkLen = Math.max(0, ...score.continuations.map((c) => c.length - 1));
    let chunk: LogitsRows | undefined;
    if (chunkLen > 0) {
      const ids: number[] = [];
      const mask: number[] = [];
      const pos: number[] = [];
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < W; t++) mask.push(cache.mask[b * W + t]!);
        const c = score.continuations[b]!;
        for (let k = 0; k < chunkLen; k++) {
          const real = k < c.length - 1;
          ids.push(real ? c[k]! : this.model.padId);
          mask.push(real ? 1 : 0);
          pos.push(rows[b]!.length + k);
        }
      }
      const feeds: Feeds = { [io.inputIds.name]: intTensor(io.inputIds.dtype, ids, [B, chunkLen]) };
      if (io.attentionMask) feeds[io.attentionMask.name] = intTensor(io.attentionMask.dtype, mask, [B, W + chunkLen]);
      if (io.positionIds) feeds[io.positionIds.name] = intTensor(io.positionIds.dtype, pos, [B, chunkLen]);
      if (io.tokenTypeIds) feeds[io.tokenTypeIds.name] = intTensor(io.tokenTypeIds.dtype, new Array<number>(ids.length).fill(0), [B, chunkLen]);
      if (io.useCacheBranch) feeds[io.useCacheBranch] = boolTensor(true);
      // The chunk is right-padded (continuations differ in length): every position is needed.
      this.keepLogits(feeds, 0, chunkLen);
      // The chunk is not appended: decoding starts again from the prompt's cache.
      cache.feed(feeds);
      const out = await this.run(feeds, [io.logits.name], B * chunkLen);
      this.stats.prefillTokens += B * chunkLen;
      chunk = new LogitsRows(out[io.logits.name]!, V);
    }
    // One buffer for every row (a callback's view is valid only until it settles): a fresh
    // [K × V] array per row was 400 MB of new memory per batch of 64 at a 50k vocabulary.
    const buffer = new Float32Array(Math.max(0, ...score.continuations.map((c) => c.length)) * V);
    for (let b = 0; b < B; b++) {
      const K = score.continuations[b]!.length;
      const rowsOut = buffer.subarray(0, K * V);
      if (K > 0) rowsOut.set(first.rows(b * kept + kept - 1), 0);
      if (K > 1) rowsOut.set(chunk!.rows(b * chunkLen, K - 1), V);
      await score.onScore(b, rowsOut);
    }
  }

  private async generateBatch(
    rows: readonly (readonly number[])[],
    maxNewTokens: number,
    opts: GenerateOptions,
    score?: { continuations: readonly (readonly number[])[]; onScore: LogitsCallback },
  ): Promise<Generation[]> {
    const io = this.model.io;
    const kv = opts.recompute ? undefined : io.kv;
    const V = this.vocab;
    const stopAtEos = opts.stopAtEos ?? true;
    const gens: Generation[] = rows.map(() => ({ tokens: [], stopped: false, ...(opts.keepLogits ? { stepLogits: [] } : {}) }));
    if (maxNewTokens <= 0) return gens;

    // A recomputing run fetches logits only: the cache outputs would be copied out for nothing.
    const first = kv ? await this.prefill(rows, 1, true, Infinity, maxNewTokens - 1) : await this.prefillOnce(rows, 1, false);
    const cache = first.cache;
    let logitsOut = first.logits;
    let T = first.kept;
    if (score && cache) await this.scoreAfterPrefill({ ...first, cache }, rows, score);
    // Without a cache every step re-runs the whole sequence; the loop below handles both.
    let seqs = rows.map((r) => [...r]);
    let realLen = rows.map((r) => r.length);
    // The batch's rows, as indices into `gens`: rows that reached end-of-sequence leave it.
    let live = rows.map((_, b) => b);

    for (let step = 0; step < maxNewTokens; step++) {
      const logits = new LogitsRows(logitsOut, V);
      let next: number[] = [];
      live.forEach((b, r) => {
        const row = logits.rows(r * T + T - 1);
        let best = 0;
        if (opts.temperature !== undefined && opts.rng) {
          best = sampleToken(row, opts.temperature, opts.rng);
        } else {
          let bestVal = -Infinity;
          for (let v = 0; v < V; v++) if (row[v]! > bestVal) { bestVal = row[v]!; best = v; }
        }
        const g = gens[b]!;
        if (!g.stopped) {
          if (g.stepLogits) g.stepLogits.push(row.slice());
          if (stopAtEos && this.model.eosIds.has(best)) g.stopped = true;
          else g.tokens.push(best);
        }
        next.push(g.stopped ? this.model.padId : best);
      });
      if (step === maxNewTokens - 1 || live.every((b) => gens[b]!.stopped)) break;

      // Finished rows leave the batch once they are a quarter of it: dropping them copies the cache
      // once (about one step's traffic), keeping them costs a row of every later step.
      const alive = live.flatMap((b, r) => (gens[b]!.stopped ? [] : [r]));
      if (this.dropFinished && alive.length <= 0.75 * live.length) {
        cache?.keepRows(alive);
        next = alive.map((r) => next[r]!);
        realLen = alive.map((r) => realLen[r]!);
        seqs = alive.map((r) => seqs[r]!);
        live = alive.map((r) => live[r]!);
      }
      const R = live.length;

      if (cache) {
        const S = cache.slots;
        const mask = new Array<number>(R * (S + 1));
        const pos: number[] = [];
        for (let b = 0; b < R; b++) {
          for (let t = 0; t < S; t++) mask[b * (S + 1) + t] = cache.mask[b * S + t]!;
          mask[b * (S + 1) + S] = 1;
          pos.push(realLen[b]!);
          realLen[b]!++;
        }
        const stepFeeds: Feeds = { [io.inputIds.name]: intTensor(io.inputIds.dtype, next, [R, 1]) };
        if (io.attentionMask) stepFeeds[io.attentionMask.name] = intTensor(io.attentionMask.dtype, mask, [R, S + 1]);
        if (io.positionIds) stepFeeds[io.positionIds.name] = intTensor(io.positionIds.dtype, pos, [R, 1]);
        if (io.tokenTypeIds) stepFeeds[io.tokenTypeIds.name] = intTensor(io.tokenTypeIds.dtype, new Array<number>(R).fill(0), [R, 1]);
        if (io.useCacheBranch) stepFeeds[io.useCacheBranch] = boolTensor(true);
        this.keepLogits(stepFeeds, 1, 1);
        cache.feed(stepFeeds);
        const out = await this.run(stepFeeds, this.fetchNames(true), R);
        cache.append(out, new Array<number>(R).fill(1), 1);
        logitsOut = out[io.logits.name]!;
        this.stats.decodeTokens += R;
        T = 1;
      } else {
        seqs.forEach((s, b) => s.push(next[b]!));
        const p = this.prefillFeeds(seqs, 1);
        const out = await this.run(p.feeds, this.fetchNames(false), R * p.padded.width);
        logitsOut = out[io.logits.name]!;
        T = p.kept;
        this.stats.decodeTokens += R;
      }
    }
    return gens;
  }
}
