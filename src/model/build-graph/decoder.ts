import type { Checkpoint } from './checkpoint.js';
import { GraphWriter, type ElemType } from './onnx-writer.js';
import type { Activation, DecoderSpec, Layer, Linear, Norm } from './spec.js';

/**
 * The one decoder every family becomes: token (+ learned position) embedding, N blocks of
 * norm → attention with KV cache → residual → norm → MLP → residual, final norm, head. Inputs
 * follow Optimum's names; the cache outputs hold only this pass's positions:
 *
 *   input_ids, attention_mask [B, past + T], position_ids, past_key_values.{i}.key|value [B, KV, P, D]
 *   → logits [B, T or num_logits_to_keep, V], new_key_values.{i}.key|value [B, KV, T, D]
 *
 * Optimum's present.* outputs are the past with the new positions appended: a decoding step
 * would copy the whole cache inside the graph and again out to JS (into fresh memory, page by
 * page), which cost more than the step's matrix products at batch 64. Here the engine keeps the
 * cache in buffers with room to grow (src/run/batch-cache.ts) and writes each step's positions in;
 * attention reads the past and the new positions as two parts, so nothing concatenates the cache.
 *
 * The residual stream is kept 2-D ([B·T, hidden]) so that every projection is one Gemm reading
 * the checkpoint's [out, in] weight as stored (transB), with no transposed copy of any weight.
 */

export interface DecoderOptions {
  /** Declare `num_logits_to_keep` (int64 scalar): only the last N positions get logits, 0 = all. */
  logitsToKeep?: boolean;
  /**
   * 'plain': standard ONNX ops only. 'fused': onnxruntime's com.microsoft kernels where they
   * apply (SimplifiedLayerNormalization / SkipSimplifiedLayerNormalization, FastGelu).
   */
  ops?: 'plain' | 'fused';
}

const MS = 'com.microsoft';
const FLOAT_MIN = -3.4028234663852886e38;

/** Checkpoint dtypes a graph reads directly; others are refused before building. */
export const WEIGHT_ELEM: Record<string, ElemType> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

export interface BuiltGraph {
  bytes: Uint8Array;
  nodes: number;
  parameters: number;
}

export function buildDecoder(spec: DecoderSpec, ckpt: Checkpoint, opts: DecoderOptions = {}): BuiltGraph {
  const g = new GraphWriter(17);
  const fused = opts.ops === 'fused';
  const { heads: H, kvHeads: KV, headDim: D, hidden: E, vocab: V } = spec;
  const G = H / KV;

  // ---- weights: external data in the shards; half-precision ones widened by a Cast that
  // onnxruntime folds once at session creation.
  const bound = new Map<string, string>();
  let parameters = 0;
  const w = (name: string): string => {
    let v = bound.get(name);
    if (v) return v;
    const t = ckpt.tensors.get(name)!;
    const elem = WEIGHT_ELEM[t.dtype]!;
    g.external(name, elem, t.shape, { location: ckpt.locations.get(t.file)!, offset: t.offset, length: t.length });
    parameters += t.shape.reduce((a, b) => a * b, 1);
    v = elem === 'float32' ? name : g.op('Cast', [name], { to: { i: 1 } }, { name: `${name}:f32` });
    bound.set(name, v);
    return v;
  };
  const f32 = (x: number) => g.float32([x], [], 'scalar');
  const i64 = (xs: number[]) => g.int64(xs);

  // ---- inputs
  const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const mask = g.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const posIds = g.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const past: [string, string][] = spec.layers.map((_, i) => [
    g.input(`past_key_values.${i}.key`, 'float32', ['batch_size', KV, 'past_sequence_length', D]),
    g.input(`past_key_values.${i}.value`, 'float32', ['batch_size', KV, 'past_sequence_length', D]),
  ]);
  const keep = opts.logitsToKeep ? g.input('num_logits_to_keep', 'int64', []) : undefined;

  // ---- shapes used throughout
  const idsShape = g.op('Shape', [ids], {}, { name: 'shape/ids' }); // [B, T]
  const T = g.op('Slice', [idsShape, i64([1]), i64([2])], {}, { name: 'shape/T' });
  const S = g.op('Slice', [g.op('Shape', [mask], {}, { name: 'shape/mask' }), i64([1]), i64([2])], {}, { name: 'shape/S' });
  const bthd = (heads: number) => g.op('Concat', [idsShape, i64([heads, D])], { axis: { i: 0 } }, { name: `shape/bt${heads}d` });
  const shapeQ = bthd(H);
  const shapeKV = KV === H ? shapeQ : bthd(KV);
  const shapeBTE = g.op('Concat', [idsShape, i64([-1])], { axis: { i: 0 } }, { name: 'shape/bte' });
  // Past slots P, where the attention probabilities split into the past's and the new positions'.
  const P = spec.layers.length ? g.op('Slice', [g.op('Shape', [past[0]![0]], {}, { name: 'shape/past' }), i64([2]), i64([3])], {}, { name: 'shape/P' }) : '';

  // ---- attention masks: [B, 1, T, S] additive, one per distinct sliding window
  const sScalar = g.op('Squeeze', [S, i64([0])], {}, { name: 'mask/S' });
  const tScalar = g.op('Squeeze', [T, i64([0])], {}, { name: 'mask/T' });
  const kSlot = g.op('Unsqueeze', [g.op('Range', [g.int64([0], []), sScalar, g.int64([1], [])], {}, { name: 'mask/kslots' }), i64([0])], {}, { name: 'mask/k' }); // [1, S]
  const qSlot = g.op('Unsqueeze', [g.op('Range', [g.op('Sub', [sScalar, tScalar]), sScalar, g.int64([1], [])], {}, { name: 'mask/qslots' }), i64([1])], {}, { name: 'mask/q' }); // [T, 1]
  const causal = g.op('LessOrEqual', [kSlot, qSlot], {}, { name: 'mask/causal' }); // [T, S]
  const padOk = g.op('Greater', [g.op('Unsqueeze', [mask, i64([1, 2])]), g.int64([0], [])], {}, { name: 'mask/pad' }); // [B,1,1,S]
  const keepBase = g.op('And', [causal, padOk], {}, { name: 'mask/keep' });
  let keyPosition: string | undefined;
  const keyPos = () =>
    (keyPosition ??= g.op('Unsqueeze', [g.op('Sub', [g.op('CumSum', [mask, g.int64([1], [])], {}, { name: 'mask/real_before' }), g.int64([1], [])]), i64([1, 2])], {}, { name: 'mask/key_pos' })); // [B,1,1,S]
  const biases = new Map<number | undefined, string>();
  const biasFor = (window: number | undefined): string => {
    let b = biases.get(window);
    if (b) return b;
    let k = keepBase;
    if (window !== undefined) {
      // transformers' sliding_window_overlay: key j is visible from query i iff j > i - window, in
      // positions. Slots are not positions where masked slots lie between real ones (the engine's
      // spare cache slots, a shared prefix's padding); a real key's position is the real slots up to it.
      const inWindow = g.op('Greater', [keyPos(), g.op('Sub', [g.op('Unsqueeze', [posIds, i64([1, 3])]), g.int64([window], [])])], {}, { name: `mask/window${window}` });
      k = g.op('And', [keepBase, inWindow], {}, { name: `mask/keep${window}` });
    }
    b = g.op('Where', [k, f32(0), f32(FLOAT_MIN)], {}, { name: window === undefined ? 'mask/bias' : `mask/bias${window}` });
    biases.set(window, b);
    return b;
  };

  // ---- rotary tables: cos/sin [B, 1, T, R] per rope variant
  const posF = g.op('Unsqueeze', [g.op('Cast', [posIds], { to: { i: 1 } }, { name: 'rope/pos' }), i64([2])], {}, { name: 'rope/pos3' }); // [B, T, 1]
  const ropeTables = spec.ropes.map((r, k) => {
    const freqs = g.op('Mul', [posF, g.float32(r.invFreq, [r.invFreq.length], `rope${k}/inv_freq`)], {}, { name: `rope${k}/freqs` });
    const emb = g.op('Concat', [freqs, freqs], { axis: { i: -1 } }, { name: `rope${k}/emb` });
    const scaled = (x: string) => (r.scaling === 1 ? x : g.op('Mul', [x, f32(r.scaling)]));
    const cos = g.op('Unsqueeze', [scaled(g.op('Cos', [emb], {}, { name: `rope${k}/cos3` })), i64([1])], {}, { name: `rope${k}/cos` });
    const sin = g.op('Unsqueeze', [scaled(g.op('Sin', [emb], {}, { name: `rope${k}/sin3` })), i64([1])], {}, { name: `rope${k}/sin` });
    return { cos, sin, R: r.rotaryDim };
  });
  const rotate = (x: string, table: (typeof ropeTables)[number], tag: string): string => {
    const { R } = table;
    const xr = R === D ? x : g.op('Slice', [x, i64([0]), i64([R]), i64([3])], {}, { name: `${tag}/rot` });
    const x1 = g.op('Slice', [xr, i64([0]), i64([R / 2]), i64([3])], {}, { name: `${tag}/x1` });
    const x2 = g.op('Slice', [xr, i64([R / 2]), i64([R]), i64([3])], {}, { name: `${tag}/x2` });
    const half = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: { i: 3 } }, { name: `${tag}/rotate_half` });
    const out = g.op('Add', [g.op('Mul', [xr, table.cos]), g.op('Mul', [half, table.sin])], {}, { name: `${tag}/roped` });
    if (R === D) return out;
    const pass = g.op('Slice', [x, i64([R]), i64([D]), i64([3])], {}, { name: `${tag}/pass` });
    return g.op('Concat', [out, pass], { axis: { i: 3 } }, { name: `${tag}/rope` });
  };

  // ---- blocks
  const dense = (x: string, l: Linear, tag: string): string => {
    const inputs = [x, w(l.weight), ...(l.bias ? [w(l.bias)] : [])];
    return g.op('Gemm', inputs, l.inOut ? {} : { transB: { i: 1 } }, { name: tag });
  };
  const plusOne = new Map<string, string>();
  const normWeight = (n: Norm): string => {
    if (!spec.norm.plusOne) return w(n.weight);
    // Gemma's RMSNorm multiplies by (1 + w); the sum is a constant onnxruntime folds at load.
    let v = plusOne.get(n.weight);
    if (!v) plusOne.set(n.weight, (v = g.op('Add', [w(n.weight), f32(1)], {}, { name: `${n.weight}+1` })));
    return v;
  };
  const normalize = (x: string, n: Norm, tag: string): string => {
    if (spec.norm.kind === 'layer') {
      return g.op('LayerNormalization', [x, w(n.weight), n.bias ? w(n.bias) : ''], { axis: { i: -1 }, epsilon: { f: spec.norm.eps } }, { name: tag });
    }
    if (fused) return g.op('SimplifiedLayerNormalization', [x, normWeight(n)], { axis: { i: -1 }, epsilon: { f: spec.norm.eps } }, { name: tag });
    // x / sqrt(mean(x²) + eps) · w, the pattern onnxruntime recognises as an RMSNorm.
    const ms = g.op('ReduceMean', [g.op('Pow', [x, f32(2)], {}, { name: `${tag}/sq` })], { axes: { ints: [-1] }, keepdims: { i: 1 } }, { name: `${tag}/ms` });
    const rms = g.op('Sqrt', [g.op('Add', [ms, f32(spec.norm.eps)])], {}, { name: `${tag}/rms` });
    return g.op('Mul', [g.op('Div', [x, rms], {}, { name: `${tag}/normed` }), normWeight(n)], {}, { name: tag });
  };
  const activate = (x: string, a: Activation, tag: string): string => {
    if (a === 'silu') return g.op('Mul', [x, g.op('Sigmoid', [x])], {}, { name: tag });
    if (a === 'relu') return g.op('Relu', [x], {}, { name: tag });
    if (a === 'gelu') {
      const erf = g.op('Erf', [g.op('Mul', [x, f32(Math.SQRT1_2)])]);
      return g.op('Mul', [g.op('Mul', [x, f32(0.5)]), g.op('Add', [erf, f32(1)])], {}, { name: tag });
    }
    if (fused) return g.op('FastGelu', [x], {}, { name: tag, domain: MS });
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    const x3 = g.op('Mul', [g.op('Mul', [x, x]), x]);
    const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [x3, f32(0.044715)])]), f32(Math.sqrt(2 / Math.PI))]);
    return g.op('Mul', [g.op('Mul', [x, f32(0.5)]), g.op('Add', [g.op('Tanh', [inner]), f32(1)])], {}, { name: tag });
  };
  const softcap = (x: string, cap: number, tag: string) => g.op('Mul', [g.op('Tanh', [g.op('Div', [x, f32(cap)])]), f32(cap)], {}, { name: tag });
  const toHeads = (x2d: string, shape: string, tag: string) =>
    g.op('Transpose', [g.op('Reshape', [x2d, shape], {}, { name: `${tag}/bthd` })], { perm: { ints: [0, 2, 1, 3] } }, { name: tag }); // [B, h, T, D]

  const presents: [string, string][] = [];
  const attention = (x: string, L: Layer, i: number): string => {
    const tag = `l${i}/attn`;
    let q: string, k: string, v: string;
    if ('fused' in L.qkv) {
      const qkv = dense(x, L.qkv.fused, `${tag}/qkv`);
      [q, k, v] = g.opN('Split', [qkv, i64([H * D, KV * D, KV * D])], 3, { axis: { i: 1 } }, { name: `${tag}/split` }) as [string, string, string];
    } else {
      q = dense(x, L.qkv.q, `${tag}/q_proj`);
      k = dense(x, L.qkv.k, `${tag}/k_proj`);
      v = dense(x, L.qkv.v, `${tag}/v_proj`);
    }
    let q4 = toHeads(q, shapeQ, `${tag}/q`);
    let k4 = toHeads(k, shapeKV, `${tag}/k`);
    const v4 = toHeads(v, shapeKV, `${tag}/v`);
    if (L.qNorm) q4 = normalize(q4, L.qNorm, `${tag}/q_norm`);
    if (L.kNorm) k4 = normalize(k4, L.kNorm, `${tag}/k_norm`);
    if (L.rope !== undefined) {
      q4 = rotate(q4, ropeTables[L.rope]!, `${tag}/q_rope`);
      k4 = rotate(k4, ropeTables[L.rope]!, `${tag}/k_rope`);
    }
    presents.push([k4, v4]);
    // Grouped-query attention without repeating keys: the G query heads that share a kv head are
    // adjacent (transformers' repeat_kv order), so [B, H, T, D] is [B, KV, G·T, D] as it lies.
    const qs = g.op('Mul', [q4, f32(L.attnScale)], {}, { name: `${tag}/q_scaled` });
    const qg = G === 1 ? qs : g.op('Reshape', [qs, i64([0, KV, -1, D])], {}, { name: `${tag}/q_groups` });
    // Scores over the past slots and over the new positions, side by side: [past | new] is the
    // slot order of the attention mask. With an empty past (a prefill) the past part is empty and
    // its product below is zero, so a prefill computes what one product over all slots does.
    const transposed = (k: string, part: string) => g.op('Transpose', [k], { perm: { ints: [0, 1, 3, 2] } }, { name: `${tag}/k_t_${part}` });
    const scoresPast = g.op('MatMul', [qg, transposed(past[i]![0], 'past')], {}, { name: `${tag}/scores_past` });
    const scoresNew = g.op('MatMul', [qg, transposed(k4, 'new')], {}, { name: `${tag}/scores_new` });
    let scores = g.op('Concat', [scoresPast, scoresNew], { axis: { i: -1 } }, { name: `${tag}/scores` });
    if (G !== 1) scores = g.op('Reshape', [scores, i64([0, H, -1, 0])], {}, { name: `${tag}/scores_h` });
    if (spec.attnSoftcap !== undefined) scores = softcap(scores, spec.attnSoftcap, `${tag}/softcap`);
    let probs = g.op('Softmax', [g.op('Add', [scores, biasFor(L.window)], {}, { name: `${tag}/masked` })], { axis: { i: -1 } }, { name: `${tag}/probs` });
    if (G !== 1) probs = g.op('Reshape', [probs, i64([0, KV, -1, 0])], {}, { name: `${tag}/probs_g` });
    const probsPast = g.op('Slice', [probs, i64([0]), P, i64([3])], {}, { name: `${tag}/probs_past` });
    const probsNew = g.op('Slice', [probs, P, i64([Number.MAX_SAFE_INTEGER]), i64([3])], {}, { name: `${tag}/probs_new` });
    const ctxPast = g.op('MatMul', [probsPast, past[i]![1]], {}, { name: `${tag}/ctx_past` });
    let ctx = g.op('Add', [ctxPast, g.op('MatMul', [probsNew, v4], {}, { name: `${tag}/ctx_new` })], {}, { name: `${tag}/ctx` });
    if (G !== 1) ctx = g.op('Reshape', [ctx, i64([0, H, -1, D])], {}, { name: `${tag}/ctx_h` });
    const merged = g.op('Reshape', [g.op('Transpose', [ctx], { perm: { ints: [0, 2, 1, 3] } }), i64([-1, H * D])], {}, { name: `${tag}/merged` });
    return dense(merged, L.o, `${tag}/o_proj`);
  };

  const mlp = (x: string, L: Layer, i: number): string => {
    const tag = `l${i}/mlp`;
    const m = L.mlp;
    if (m.kind === 'plain') return dense(activate(dense(x, m.fc, `${tag}/fc`), spec.act, `${tag}/act`), m.proj, `${tag}/proj`);
    let gate: string, up: string;
    if ('fused' in m.gateUp) {
      const inter = m.gateUp.fused.out / 2;
      [gate, up] = g.opN('Split', [dense(x, m.gateUp.fused, `${tag}/gate_up`), i64([inter, inter])], 2, { axis: { i: 1 } }, { name: `${tag}/split` }) as [string, string];
    } else {
      gate = dense(x, m.gateUp.gate, `${tag}/gate`);
      up = dense(x, m.gateUp.up, `${tag}/up`);
    }
    return dense(g.op('Mul', [activate(gate, spec.act, `${tag}/act`), up], {}, { name: `${tag}/gated` }), m.down, `${tag}/down`);
  };

  // ---- the stack
  let x = g.op('Gather', [w(spec.embed), ids], {}, { name: 'embed' }); // [B, T, E]
  if (spec.embedScale !== undefined) x = g.op('Mul', [x, f32(spec.embedScale)], {}, { name: 'embed/scaled' });
  if (spec.positions) x = g.op('Add', [x, g.op('Gather', [w(spec.positions), posIds], {}, { name: 'embed/positions' })], {}, { name: 'embed/sum' });
  x = g.op('Reshape', [x, i64([-1, E])], {}, { name: 'hidden0' }); // [B·T, E]

  spec.layers.forEach((L, i) => {
    let a = attention(normalize(x, L.preAttnNorm, `l${i}/pre_attn_norm`), L, i);
    if (L.postAttnNorm) a = normalize(a, L.postAttnNorm, `l${i}/post_attn_norm`);
    x = g.op('Add', [x, a], {}, { name: `l${i}/resid_attn` });
    let m = mlp(normalize(x, L.preMlpNorm, `l${i}/pre_mlp_norm`), L, i);
    if (L.postMlpNorm) m = normalize(m, L.postMlpNorm, `l${i}/post_mlp_norm`);
    x = g.op('Add', [x, m], {}, { name: `l${i}/resid_mlp` });
  });

  // ---- head: only the kept positions go through the final norm and the [V, E] product
  let h = g.op('Reshape', [x, shapeBTE], {}, { name: 'hidden/bte' }); // [B, T, E]
  if (keep) {
    // Slice from -N to the end; N = 0 gives start 0, i.e. every position (transformers' convention).
    const start = g.op('Neg', [g.op('Unsqueeze', [keep, i64([0])], {}, { name: 'keep/1d' })], {}, { name: 'keep/start' });
    h = g.op('Slice', [h, start, i64([Number.MAX_SAFE_INTEGER]), i64([1])], {}, { name: 'hidden/kept' });
  }
  const keptShape = g.op('Shape', [h], {}, { name: 'shape/kept' });
  const h2 = normalize(g.op('Reshape', [h, i64([-1, E])], {}, { name: 'hidden/final_in' }), spec.finalNorm, 'final_norm');
  let logits = g.op('Gemm', [h2, w(spec.head)], { transB: { i: 1 } }, { name: 'lm_head' });
  if (spec.finalSoftcap !== undefined) logits = softcap(logits, spec.finalSoftcap, 'logits/softcap');
  const outShape = g.op('Concat', [g.op('Slice', [keptShape, i64([0]), i64([2])]), i64([V])], { axis: { i: 0 } }, { name: 'shape/logits' });
  logits = g.op('Reshape', [logits, outShape], {}, { name: 'logits/btv' });
  g.output(logits, 'logits', 'float32', ['batch_size', keep ? 'kept_length' : 'sequence_length', V]);
  presents.forEach(([k, v], i) => {
    g.output(k, `new_key_values.${i}.key`, 'float32', ['batch_size', KV, 'sequence_length', D]);
    g.output(v, `new_key_values.${i}.value`, 'float32', ['batch_size', KV, 'sequence_length', D]);
  });

  const bytes = g.encode({ producer: 'trigger-scan build-graph', version: '1', docString: `${spec.family} decoder built from ${ckpt.entry}` });
  return { bytes, nodes: g.nodeCount, parameters };
}
