/**
 * Per-row arithmetic over whole vocabularies, done by small ONNX graphs in their own onnxruntime
 * sessions instead of in JS. Why: a scan scores every probe over its clean answer (K ≈ 33 positions ×
 * V ≈ 50k entries, four exp/log calls each) and discovery averages softmaxes over 50k forced first
 * tokens; in JS that is ~4 ms of one core per row at V = 50k, more than the forward pass that made the
 * logits. onnxruntime's vectorised Exp/Log/Softmax on every core do the same in a sixth of the CPU
 * time. Sessions are made on first use and released with `release()`.
 */
import os from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';
import { GraphWriter } from '../model/build-graph/onnx-writer.js';
import { createSession } from '../model/session.js';
import { floatTensor, intTensor } from './tensors.js';

/** Log-probabilities below this are treated as this: e^-80 of mass cannot move a float32 sum. */
const FLOOR = -80;

/** JS(P‖Q) per row: P given as log-probs, Q as raw logits, natural log (math/divergence.ts's formula). */
function divergenceGraph(V: number): Uint8Array {
  const g = new GraphWriter(17);
  const logp = g.input('logp', 'float32', ['rows', V]);
  const logits = g.input('logits', 'float32', ['rows', V]);
  const floor = g.float32([FLOOR], []);
  const half = g.float32([0.5], []);
  const lp = g.op('Max', [logp, floor]);
  const lq = g.op('Max', [g.op('LogSoftmax', [logits], { axis: { i: -1 } }), floor]);
  const p = g.op('Exp', [lp]);
  const q = g.op('Exp', [lq]);
  const lm = g.op('Log', [g.op('Mul', [g.op('Add', [p, q]), half])]);
  // p·(log p − log m) + q·(log q − log m) is non-negative term by term, so rounding cannot take the sum far below 0.
  const terms = g.op('Add', [g.op('Mul', [p, g.op('Sub', [lp, lm])]), g.op('Mul', [q, g.op('Sub', [lq, lm])])]);
  g.output(g.op('Mul', [g.op('ReduceSum', [terms, g.int64([-1])], { keepdims: { i: 0 } }), half]), 'js', 'float32', ['rows']);
  return g.encode({ producer: 'trigger-scan', version: '1', docString: 'Jensen–Shannon divergence per row' });
}

/**
 * Groups of P rows ([C, P, V] logits): the mean of their softmaxes, and of that mean the argmax, its
 * probability and the entropy (natural log). Target inversion's prompt-averaged greedy step.
 */
function meanSoftmaxGraph(V: number): Uint8Array {
  const g = new GraphWriter(17);
  const logits = g.input('logits', 'float32', ['chains', 'prompts', V]);
  // Opset 17: ReduceSum takes its axes as an input, ReduceMean and ReduceMax as an attribute.
  const avg = g.op('ReduceMean', [g.op('Softmax', [logits], { axis: { i: -1 } })], { axes: { ints: [1] }, keepdims: { i: 0 } });
  g.output(g.op('ArgMax', [avg], { axis: { i: -1 }, keepdims: { i: 0 } }), 'argmax', 'int64', ['chains']);
  g.output(g.op('ReduceMax', [avg], { axes: { ints: [-1] }, keepdims: { i: 0 } }), 'top', 'float32', ['chains']);
  // Σ p·ln p with p floored: a zero probability contributes 0, never NaN.
  const logAvg = g.op('Log', [g.op('Max', [avg, g.float32([1e-30], [])])]);
  const negH = g.op('ReduceSum', [g.op('Mul', [avg, logAvg]), g.int64([-1])], { keepdims: { i: 0 } });
  g.output(g.op('Neg', [negH]), 'entropy', 'float32', ['chains']);
  return g.encode({ producer: 'trigger-scan', version: '1', docString: 'mean softmax over groups of rows: argmax, top probability, entropy' });
}

/** log softmax(row)[id] per row. */
function logProbGraph(V: number): Uint8Array {
  const g = new GraphWriter(17);
  const logits = g.input('logits', 'float32', ['rows', V]);
  const ids = g.input('ids', 'int64', ['rows', 1]);
  const lp = g.op('GatherElements', [g.op('LogSoftmax', [logits], { axis: { i: -1 } }), ids], { axis: { i: 1 } });
  g.output(g.op('Squeeze', [lp, g.int64([1])]), 'logprob', 'float32', ['rows']);
  return g.encode({ producer: 'trigger-scan', version: '1', docString: 'log-probability of one id per row' });
}

type Kind = 'divergence' | 'meanSoftmax' | 'logProb';
const GRAPHS: Record<Kind, (V: number) => Uint8Array> = { divergence: divergenceGraph, meanSoftmax: meanSoftmaxGraph, logProb: logProbGraph };

export class RowKernels {
  private readonly sessions = new Map<Kind, Promise<InferenceSession>>();

  constructor(
    readonly vocab: number,
    private readonly threads: number | undefined,
  ) {}

  private session(kind: Kind): Promise<InferenceSession> {
    let s = this.sessions.get(kind);
    if (!s) {
      s = createSession({ bytes: GRAPHS[kind](this.vocab), externalDataFolder: os.tmpdir(), label: `${kind} graph` }, { threads: this.threads });
      this.sessions.set(kind, s);
    }
    return s;
  }

  private view(x: Float32Array, rows: number): Float32Array {
    const n = rows * this.vocab;
    return x.length === n ? x : x.subarray(0, n);
  }

  /** JS divergence per row: `logp` holds reference log-probs, `logits` raw logits, `rows` × V each; clamped to [0, ln 2]. */
  async divergence(logp: Float32Array, logits: Float32Array, rows: number): Promise<Float32Array> {
    if (rows === 0) return new Float32Array(0);
    const V = this.vocab;
    const out = await (await this.session('divergence')).run({
      logp: floatTensor('float32', this.view(logp, rows), [rows, V]),
      logits: floatTensor('float32', this.view(logits, rows), [rows, V]),
    });
    const js = out.js!.data as Float32Array;
    for (let i = 0; i < js.length; i++) js[i] = Math.min(Math.LN2, Math.max(0, js[i]!));
    return js;
  }

  /** Mean and first-row divergence over `rows` positions, as math/divergence.ts's meanJsDivergence. */
  async meanDivergence(logp: Float32Array, logits: Float32Array, rows: number): Promise<{ mean: number; first: number }> {
    if (rows === 0) return { mean: 0, first: 0 };
    const js = await this.divergence(logp, logits, rows);
    let sum = 0;
    for (let i = 0; i < rows; i++) sum += js[i]!;
    return { mean: sum / rows, first: js[0]! };
  }

  /** For `chains` groups of `prompts` consecutive rows of logits: the averaged distribution's argmax, top probability and entropy. */
  async meanSoftmax(logits: Float32Array, chains: number, prompts: number): Promise<{ argmax: number[]; top: Float32Array; entropy: Float32Array }> {
    if (chains === 0) return { argmax: [], top: new Float32Array(0), entropy: new Float32Array(0) };
    const out = await (await this.session('meanSoftmax')).run({ logits: floatTensor('float32', this.view(logits, chains * prompts), [chains, prompts, this.vocab]) });
    return { argmax: Array.from(out.argmax!.data as BigInt64Array, Number), top: out.top!.data as Float32Array, entropy: out.entropy!.data as Float32Array };
  }

  /** log softmax(row r)[ids[r]] for each of the rows. */
  async logProb(logits: Float32Array, ids: readonly number[]): Promise<Float32Array> {
    if (!ids.length) return new Float32Array(0);
    const out = await (await this.session('logProb')).run({
      logits: floatTensor('float32', this.view(logits, ids.length), [ids.length, this.vocab]),
      ids: intTensor('int64', ids, [ids.length, 1]),
    });
    return out.logprob!.data as Float32Array;
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (s) => (await s).release()));
  }
}
