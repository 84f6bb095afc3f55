/**
 * The memory pre-check: before a model is loaded, estimate the scan's peak resident memory (the
 * weights as ONNX Runtime holds them, the KV cache and attention scores of a batch, the logits a pass
 * copies out, the clean references) and compare it with what this process may use (available memory,
 * a cgroup limit, or --max-memory). A batch that would not fit is lowered; a model that does not fit
 * at batch size 1 is refused with one line, instead of being OOM-killed an hour in.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { UserError } from '../errors.js';
import type { ModelConfig } from '../model/model-config.js';
import { formatBytes } from '../util/bytes.js';

export interface MemoryInputs {
  /** Bytes of the weights as the engine holds them (after widening to float32, with its copies). */
  weightBytes: number;
  config: Pick<ModelConfig, 'numLayers' | 'numHeads' | 'numKvHeads' | 'headDim' | 'hiddenSize' | 'vocabSize' | 'maxPositions'> & { intermediateSize?: number | undefined };
  /** Rows of the vocabulary head (embedding rows), when known; else config.vocabSize. */
  vocab: number | undefined;
  baselines: number;
  maxNewTokens: number;
  /** Rows per forward pass of the test stage: the batch size. */
  rows: number;
  /** An upper bound on the probes planned (their prompts, outputs and scores live in the JS heap). */
  probes: number;
  /** Discovery's target inversion, when it runs: rows it extends at once and the tokens each holds. */
  discovery?: { rows: number; tokens: number } | undefined;
  /** What the process holds before loading (Node, the tokenizer, the packs). */
  runtimeBytes: number;
}

/**
 * The estimate in parts. The test stage and discovery do not run at once: the peak is what both
 * share (runtime, weights, the plan) and the larger of the two stages' working sets.
 */
export interface MemoryEstimate {
  total: number;
  parts: { runtime: number; weights: number; plan: number; kvCache: number; attention: number; logits: number; references: number; activations: number; discovery: number };
  /** Which stage the peak is in. */
  peakStage: 'test' | 'discovery';
  rows: number;
  seqLen: number;
}

/** The sequence length planned for: a chat-framed prompt with an inserted string, the answer, its continuation. */
export function plannedSeqLen(maxNewTokens: number, maxPositions: number | undefined): number {
  const len = 192 + 2 * (maxNewTokens + 1);
  return maxPositions ? Math.min(maxPositions, len) : len;
}

/** The bound on logits one pass copies out (src/run/causal-lm.ts, maxLogitsBytes). */
const MAX_LOGITS_BYTES = 256 * 1024 * 1024;
/** ONNX Runtime, its thread pools and arena, on top of the process before loading. */
const ENGINE_OVERHEAD = 64 * 1024 * 1024;
/**
 * Resident memory per planned probe (its token ids, turn, output, scores and detector hits): 1.7 KiB
 * measured on the demo's default plan (28k probes); the planned count is an upper bound about twice
 * the real one, so 1 KiB of it.
 */
const PROBE_BYTES = 1024;

export function estimateMemory(i: MemoryInputs): MemoryEstimate {
  const c = i.config;
  const T = plannedSeqLen(i.maxNewTokens, c.maxPositions);
  const V = i.vocab ?? c.vocabSize ?? 0;
  const L = c.numLayers ?? 0;
  const heads = c.numHeads ?? 0;
  const headDim = c.headDim ?? (c.hiddenSize && heads ? c.hiddenSize / heads : 0);
  const kvHeads = c.numKvHeads ?? heads;
  const hidden = c.hiddenSize ?? heads * headDim;
  const inter = c.intermediateSize ?? 4 * hidden;
  const f32 = 4;
  const K = i.maxNewTokens + 1;
  // Past and present are alive together during a step.
  const kvCache = 2 * L * 2 * i.rows * kvHeads * T * headDim * f32;
  // Decomposed attention materialises [rows, heads, T, T] scores (and their softmax) in one layer at a time.
  const attention = 2 * i.rows * heads * T * T * f32;
  const logits = Math.min(MAX_LOGITS_BYTES, i.rows * T * V * f32) + i.rows * K * V * f32;
  const references = i.baselines * K * V * f32;
  const activations = i.rows * T * (6 * hidden + 2 * inter) * f32;
  const runtime = i.runtimeBytes + ENGINE_OVERHEAD;
  // Inversion steps one token at a time over every row: its KV cache (past and present), the
  // vocabulary row per row it averages, and one step's activations.
  const d = i.discovery;
  const discovery = d ? 2 * L * 2 * d.rows * kvHeads * d.tokens * headDim * f32 + 2 * d.rows * V * f32 + d.rows * (6 * hidden + 2 * inter) * f32 : 0;
  const plan = i.probes * PROBE_BYTES;
  const test = kvCache + attention + logits + references + activations;
  const parts = { runtime, weights: i.weightBytes, plan, kvCache, attention, logits, references, activations, discovery };
  const total = runtime + i.weightBytes + plan + Math.max(test, discovery);
  return { total, parts, peakStage: discovery > test ? 'discovery' : 'test', rows: i.rows, seqLen: T };
}

export interface MemoryLimit {
  bytes: number;
  /** Where the limit comes from, for messages. */
  source: string;
}

const readNumber = (file: string): number | undefined => {
  try {
    const v = readFileSync(file, 'utf8').trim();
    return /^\d+$/.test(v) ? Number(v) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * What this process may grow to: what is available on the machine and, inside a container, under
 * the cgroup's limit (what the OOM killer enforces), whichever is smaller; memory the process holds
 * already counts as its own.
 */
export function memoryLimit(rss = process.memoryUsage().rss): MemoryLimit {
  const limits: MemoryLimit[] = [];
  try {
    const m = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) limits.push({ bytes: Number(m[1]) * 1024 + rss, source: 'available memory' });
  } catch {
    limits.push({ bytes: os.freemem() + rss, source: 'free memory' });
  }
  if (!limits.length) limits.push({ bytes: os.freemem() + rss, source: 'free memory' });
  const v2max = readNumber('/sys/fs/cgroup/memory.max');
  const v2cur = readNumber('/sys/fs/cgroup/memory.current');
  if (v2max !== undefined && v2cur !== undefined) limits.push({ bytes: v2max - v2cur + rss, source: 'the cgroup memory limit' });
  const v1max = readNumber('/sys/fs/cgroup/memory/memory.limit_in_bytes');
  const v1cur = readNumber('/sys/fs/cgroup/memory/memory.usage_in_bytes');
  // cgroup v1 reports "no limit" as a number near 2^63.
  if (v1max !== undefined && v1cur !== undefined && v1max < 2 ** 60) limits.push({ bytes: v1max - v1cur + rss, source: 'the cgroup memory limit' });
  return limits.reduce((a, b) => (b.bytes < a.bytes ? b : a));
}

/** `8G`, `512M`, `1.5GiB`, `2000000000`: bytes. */
export function parseSize(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(v);
  if (!m) return undefined;
  const scale = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const n = Math.floor(Number(m[1]) * scale);
  return n > 0 ? n : undefined;
}

export interface MemoryCheck {
  /** The batch size to run with: the one asked for, or lower so that the scan fits. */
  batchSize: number;
  /** What the estimate was made from. */
  inputs: Omit<MemoryInputs, 'rows'>;
  estimate: MemoryEstimate;
  limit: MemoryLimit;
  /** Said to the operator when the batch size was lowered. */
  notice: string | undefined;
}

const describe = (e: MemoryEstimate) =>
  `weights ${formatBytes(e.parts.weights)}, KV cache ${formatBytes(e.parts.kvCache)}, attention ${formatBytes(e.parts.attention)}, logits ${formatBytes(e.parts.logits + e.parts.references)}, plan ${formatBytes(e.parts.plan)}, runtime ${formatBytes(e.parts.runtime)}`;

/**
 * The batch size that fits: `batchSize` if it does, else the largest power-of-two fraction of it
 * that does. Discovery's working set does not shrink with the batch size: when it alone does not
 * fit, the scan is refused with a word on --no-discover.
 */
export function checkMemory(dir: string, inputs: Omit<MemoryInputs, 'rows'>, batchSize: number, limit: MemoryLimit): MemoryCheck {
  const at = (b: number) => estimateMemory({ ...inputs, rows: b });
  const first = at(batchSize);
  if (first.total <= limit.bytes) return { batchSize, inputs, estimate: first, limit, notice: undefined };
  const one = at(1);
  if (one.peakStage === 'discovery' && one.total > limit.bytes) {
    throw new UserError(
      'E_MEMORY',
      `${dir}: trigger discovery needs about ${formatBytes(one.total)} of memory (its inversion holds ${formatBytes(one.parts.discovery)} of KV cache and logits whatever the batch size; weights ${formatBytes(one.parts.weights)}), but ${formatBytes(limit.bytes)} is within ${limit.source}; refusing to load it (scan with --no-discover, free memory, or set --max-memory if the estimate is wrong)`,
      dir,
    );
  }
  for (let b = Math.floor(batchSize / 2); b >= 1; b = Math.floor(b / 2)) {
    const e = at(b);
    if (e.total <= limit.bytes) {
      return { batchSize: b, inputs, estimate: e, limit, notice: `${dir}: lowered the batch size from ${batchSize} to ${b}: the scan needs about ${formatBytes(first.total)} at ${batchSize} and ${formatBytes(e.total)} at ${b}, and ${formatBytes(limit.bytes)} is within ${limit.source}` };
    }
    if (b === 1) break;
  }
  throw new UserError(
    'E_MEMORY',
    `${dir}: needs about ${formatBytes(one.total)} of memory even at batch size 1 (${describe(one)}), but ${formatBytes(limit.bytes)} is within ${limit.source}; refusing to load it (free memory, scan a smaller model, or set --max-memory if the estimate is wrong)`,
    dir,
  );
}
