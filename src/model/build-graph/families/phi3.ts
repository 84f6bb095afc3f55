import type { Family } from '../spec.js';
import { planLlamaLike } from './llama-like.js';

/**
 * Phi-3 / Phi-3.5 / Phi-4-mini (modeling_phi3): fused qkv_proj and gate_up_proj (gate first),
 * partial_rotary_factor, longrope; sliding_window, when set, on every layer.
 */
export const phi3: Family = {
  modelTypes: ['phi3'],
  plan: (cfg, names) =>
    planLlamaLike(cfg, names, {
      family: 'phi3',
      fused: true,
      tiedDefault: false,
      epsDefault: 1e-5,
      windows: (c, n) => new Array(n).fill(c.optInt('sliding_window', 1 << 30)),
    }),
};
