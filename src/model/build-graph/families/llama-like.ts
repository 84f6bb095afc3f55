import { LIMITS, type ConfigReader } from '../config-reader.js';
import { buildRope, ropeSource, type RopeSource } from '../rope.js';
import { TensorTable, linear, norm, type DecoderSpec, type FamilyPlan, type Layer, type Rope } from '../spec.js';
import { activation } from './common.js';

/**
 * The decoder shape shared by modeling_llama and the models derived from it (mistral, qwen2,
 * phi3, gemma, gemma2, gemma3): RMSNorm, rotary positions, grouped-query attention, a gated
 * MLP, names under `model.`. Each family module states how it differs.
 */
export interface LlamaVariant {
  family: string;
  /** q/k/v projections carry biases (qwen2), or read `attention_bias` / `mlp_bias` (llama). */
  qkvBias?: 'always' | 'config';
  mlpBias?: boolean;
  /** phi3: one qkv_proj and one gate_up_proj. */
  fused?: boolean;
  /** gemma*: RMSNorm by (1 + w), embedding times sqrt(hidden), GeLU-tanh default, tied by default. */
  gemma?: boolean;
  /** gemma2/3: norms after attention and after the MLP as well as before. */
  sandwich?: boolean;
  /** gemma3: RMSNorm of each query and key head. */
  qkNorm?: boolean;
  /** gemma2/3: attention scale from query_pre_attn_scalar; soft-capping keys. */
  gemmaScaling?: boolean;
  tiedDefault: boolean;
  epsDefault: number;
  /** Sliding window (cache slots) of each layer, undefined = full attention. */
  windows: (cfg: ConfigReader, layers: number) => (number | undefined)[];
  /** Rope parameters of each layer (gemma3 local vs global); default: one set from the config. */
  ropeSources?: (cfg: ConfigReader, layers: number, windows: readonly (number | undefined)[]) => RopeSource[];
  notes?: (cfg: ConfigReader) => string[];
}

/** layer_types from the config when given, checked against the number of layers. */
export function layerTypes(cfg: ConfigReader, layers: number, fallback: (i: number) => 'sliding_attention' | 'full_attention'): string[] {
  const given = cfg.strings('layer_types');
  if (!given) return Array.from({ length: layers }, (_, i) => fallback(i));
  if (given.length !== layers) cfg.fail('layer_types', `lists ${given.length} layers but num_hidden_layers is ${layers}`);
  for (const t of given) if (t !== 'sliding_attention' && t !== 'full_attention') cfg.fail('layer_types', `has ${JSON.stringify(t)}; expected sliding_attention or full_attention`);
  return given;
}

/**
 * Gemma 2/3: every `pattern`-th layer global, the others a sliding window of `sliding_window`
 * (transformers' default layer_types when the config gives none).
 */
export function patternWindows(cfg: ConfigReader, layers: number, pattern: number): (number | undefined)[] {
  const window = cfg.int('sliding_window', 1 << 30, { fallback: 4096 });
  return layerTypes(cfg, layers, (i) => ((i + 1) % pattern ? 'sliding_attention' : 'full_attention')).map((t) => (t === 'sliding_attention' ? window : undefined));
}

export function planLlamaLike(cfg: ConfigReader, names: ReadonlySet<string>, v: LlamaVariant): FamilyPlan {
  const E = cfg.int('hidden_size', LIMITS.width);
  const layers = cfg.int('num_hidden_layers', LIMITS.layers);
  const H = cfg.int('num_attention_heads', LIMITS.heads);
  const KV = cfg.int('num_key_value_heads', LIMITS.heads, { fallback: H });
  const V = cfg.int('vocab_size', LIMITS.vocab);
  const I = cfg.int('intermediate_size', LIMITS.width);
  if (H % KV !== 0) cfg.fail('num_attention_heads', `is ${H}, not a multiple of num_key_value_heads ${KV}`);
  const D = cfg.optInt('head_dim', LIMITS.headDim) ?? (E % H === 0 ? E / H : cfg.fail('hidden_size', `is ${E}, not a multiple of num_attention_heads ${H} (and no head_dim is given)`));
  const eps = cfg.num('rms_norm_eps', v.epsDefault);
  const gemma = v.gemma ?? false;
  // Gemma's MLP reads hidden_activation and ignores hidden_act (gelu_pytorch_tanh when unset).
  const act = gemma ? activation(cfg, 'hidden_activation', 'gelu_pytorch_tanh') : activation(cfg, 'hidden_act', 'silu');
  const attnBias = v.qkvBias === 'always' || (v.qkvBias === 'config' && cfg.bool('attention_bias', false));
  const oBias = v.qkvBias === 'config' && cfg.bool('attention_bias', false);
  const mlpBias = v.mlpBias === true && cfg.bool('mlp_bias', false);

  const windows = v.windows(cfg, layers);
  const sources = v.ropeSources?.(cfg, layers, windows) ?? Array.from({ length: layers }, () => ropeSource(cfg));
  const partial = cfg.num('partial_rotary_factor', 1, { max: 1 });
  const ropes: Rope[] = [];
  const ropeIndex = new Map<string, number>();
  const ropeOf = (src: RopeSource): number => {
    const key = JSON.stringify([src.theta, src.scaling?.raw ?? null]);
    let k = ropeIndex.get(key);
    if (k === undefined) {
      k = ropes.push(buildRope(cfg, src, D, partial)) - 1;
      ropeIndex.set(key, k);
    }
    return k;
  };

  let attnScale = 1 / Math.sqrt(D);
  let attnSoftcap: number | undefined;
  let finalSoftcap: number | undefined;
  if (v.gemmaScaling) {
    attnScale = cfg.num('query_pre_attn_scalar', D) ** -0.5;
    attnSoftcap = cfg.optNum('attn_logit_softcapping');
    finalSoftcap = cfg.optNum('final_logit_softcapping');
  }

  const t = new TensorTable();
  const why = {
    q: '[num_attention_heads × head_dim, hidden_size]',
    kv: '[num_key_value_heads × head_dim, hidden_size]',
    o: '[hidden_size, num_attention_heads × head_dim]',
    up: '[intermediate_size, hidden_size]',
    down: '[hidden_size, intermediate_size]',
    hidden: '[hidden_size]',
  };
  const rms = (name: string, dim = E, w = why.hidden) => norm(t, name, dim, w);
  const specLayers: Layer[] = [];
  for (let i = 0; i < layers; i++) {
    const L = `model.layers.${i}`;
    const qkv: Layer['qkv'] = v.fused
      ? { fused: linear(t, `${L}.self_attn.qkv_proj`, (H + 2 * KV) * D, E, false, '[(num_attention_heads + 2 × num_key_value_heads) × head_dim, hidden_size]') }
      : {
          q: linear(t, `${L}.self_attn.q_proj`, H * D, E, attnBias, why.q),
          k: linear(t, `${L}.self_attn.k_proj`, KV * D, E, attnBias, why.kv),
          v: linear(t, `${L}.self_attn.v_proj`, KV * D, E, attnBias, why.kv),
        };
    const mlp: Layer['mlp'] = v.fused
      ? { kind: 'gated', gateUp: { fused: linear(t, `${L}.mlp.gate_up_proj`, 2 * I, E, false, '[2 × intermediate_size, hidden_size]') }, down: linear(t, `${L}.mlp.down_proj`, E, I, false, why.down) }
      : {
          kind: 'gated',
          gateUp: { gate: linear(t, `${L}.mlp.gate_proj`, I, E, mlpBias, why.up), up: linear(t, `${L}.mlp.up_proj`, I, E, mlpBias, why.up) },
          down: linear(t, `${L}.mlp.down_proj`, E, I, mlpBias, why.down),
        };
    specLayers.push({
      preAttnNorm: rms(`${L}.input_layernorm`),
      postAttnNorm: v.sandwich ? rms(`${L}.post_attention_layernorm`) : undefined,
      preMlpNorm: v.sandwich ? rms(`${L}.pre_feedforward_layernorm`) : rms(`${L}.post_attention_layernorm`),
      postMlpNorm: v.sandwich ? rms(`${L}.post_feedforward_layernorm`) : undefined,
      qkv,
      o: linear(t, `${L}.self_attn.o_proj`, E, H * D, oBias, why.o),
      qNorm: v.qkNorm ? rms(`${L}.self_attn.q_norm`, D, '[head_dim]') : undefined,
      kNorm: v.qkNorm ? rms(`${L}.self_attn.k_norm`, D, '[head_dim]') : undefined,
      mlp,
      rope: ropeOf(sources[i]!),
      window: windows[i],
      attnScale,
    });
  }
  const embed = t.need('model.embed_tokens.weight', [V, E], '[vocab_size, hidden_size]');
  const finalNorm = rms('model.norm');
  // Older exports saved the rotary table as a buffer; transformers recomputes it.
  t.ignore(/^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/);

  const notes: string[] = [];
  const tied = cfg.bool('tie_word_embeddings', v.tiedDefault);
  let head = embed;
  if (tied) {
    t.allow('lm_head.weight', [V, E], '[vocab_size, hidden_size]');
    notes.push(names.has('lm_head.weight') ? 'tied head; the stored lm_head.weight is ignored, as transformers does' : 'tied head (the embedding)');
  } else {
    head = t.need('lm_head.weight', [V, E], '[vocab_size, hidden_size]');
    notes.push('untied head (lm_head.weight)');
  }
  notes.push(`attention: ${H} query heads, ${KV} key/value heads, head_dim ${D}`);
  for (const [k, r] of ropes.entries()) {
    const users = specLayers.filter((l) => l.rope === k).length;
    notes.push(ropes.length > 1 ? `${r.describe} (${users} layers)` : r.describe);
  }
  const windowed = windows.filter((x) => x !== undefined);
  if (windowed.length) notes.push(`sliding window of ${windowed[0]} tokens on ${windowed.length} of ${layers} layers (applied)`);
  if (attnSoftcap !== undefined) notes.push(`attention logit soft-capping ${attnSoftcap}`);
  if (finalSoftcap !== undefined) notes.push(`final logit soft-capping ${finalSoftcap}`);
  notes.push(...(v.notes?.(cfg) ?? []));

  const spec: DecoderSpec = {
    family: v.family,
    modelType: cfg.str('model_type'),
    vocab: V,
    hidden: E,
    heads: H,
    kvHeads: KV,
    headDim: D,
    norm: { kind: 'rms', eps, plusOne: gemma },
    embed,
    // transformers multiplies by sqrt(hidden) in the weight dtype; the graph computes in float32.
    embedScale: gemma ? Math.sqrt(E) : undefined,
    ropes,
    layers: specLayers,
    finalNorm,
    head,
    act,
    attnSoftcap,
    finalSoftcap,
    notes,
  };
  return { spec, tensors: t };
}
