import { LIMITS } from '../config-reader.js';
import { TensorTable, norm, type Family, type Layer, type Linear } from '../spec.js';
import { activation, refuseTrue } from './common.js';

/** GPT-2 (modeling_gpt2): Conv1D weights stored [in, out], learned positions, LayerNorm, tied head. */
export const gpt2: Family = {
  modelTypes: ['gpt2'],
  plan(cfg, names) {
    const E = cfg.int('n_embd', LIMITS.width);
    const layers = cfg.int('n_layer', LIMITS.layers);
    const H = cfg.int('n_head', LIMITS.heads);
    const V = cfg.int('vocab_size', LIMITS.vocab);
    const P = cfg.int('n_positions', LIMITS.positions);
    const inner = cfg.optInt('n_inner', LIMITS.width) ?? 4 * E;
    if (E % H !== 0) cfg.fail('n_embd', `is ${E}, not a multiple of n_head ${H}`);
    refuseTrue(cfg, ['add_cross_attention']);
    const D = E / H;
    const eps = cfg.num('layer_norm_epsilon', 1e-5);
    const act = activation(cfg, 'activation_function', 'gelu_new');
    const byLayer = cfg.bool('scale_attn_by_inverse_layer_idx', false);
    const scaleWeights = cfg.bool('scale_attn_weights', true);
    // The OpenAI checkpoints have no "transformer." prefix; save_pretrained of GPT2LMHeadModel adds it.
    const p = names.has('transformer.wte.weight') ? 'transformer.' : '';
    const t = new TensorTable();
    const conv = (name: string, inp: number, out: number, why: string): Linear => ({
      weight: t.need(`${name}.weight`, [inp, out], why),
      bias: t.need(`${name}.bias`, [out], why),
      inOut: true,
      out,
    });
    const ln = (name: string) => norm(t, name, E, '[n_embd]', true);
    const embed = t.need(`${p}wte.weight`, [V, E], '[vocab_size, n_embd]');
    const positions = t.need(`${p}wpe.weight`, [P, E], '[n_positions, n_embd]');
    const spec_layers: Layer[] = [];
    for (let i = 0; i < layers; i++) {
      const h = `${p}h.${i}`;
      spec_layers.push({
        preAttnNorm: ln(`${h}.ln_1`),
        qkv: { fused: conv(`${h}.attn.c_attn`, E, 3 * E, '[n_embd, 3 × n_embd]') },
        o: conv(`${h}.attn.c_proj`, E, E, '[n_embd, n_embd]'),
        preMlpNorm: ln(`${h}.ln_2`),
        mlp: { kind: 'plain', fc: conv(`${h}.mlp.c_fc`, E, inner, '[n_embd, n_inner]'), proj: conv(`${h}.mlp.c_proj`, inner, E, '[n_inner, n_embd]') },
        attnScale: (scaleWeights ? 1 / Math.sqrt(D) : 1) / (byLayer ? i + 1 : 1),
      });
    }
    const notes: string[] = [`learned positions: ${P}`];
    // Old exports saved the causal-mask buffers; they are not parameters.
    t.ignore(/^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/);
    const tied = cfg.bool('tie_word_embeddings', true);
    let head = embed;
    if (tied) {
      t.allow('lm_head.weight', [V, E], '[vocab_size, n_embd]');
      if (names.has('lm_head.weight')) notes.push('lm_head.weight present but tie_word_embeddings: the embedding is the head (as transformers does)');
    } else {
      head = t.need('lm_head.weight', [V, E], '[vocab_size, n_embd]');
    }
    if (names.has(`${p}h.0.attn.bias`)) notes.push('attn.bias / attn.masked_bias buffers ignored');
    return {
      tensors: t,
      spec: {
        family: 'gpt2',
        modelType: 'gpt2',
        vocab: V,
        hidden: E,
        heads: H,
        kvHeads: H,
        headDim: D,
        norm: { kind: 'layer', eps, plusOne: false },
        embed,
        positions,
        ropes: [],
        layers: spec_layers,
        finalNorm: ln(`${p}ln_f`),
        head,
        act,
        notes,
      },
    };
  },
};
