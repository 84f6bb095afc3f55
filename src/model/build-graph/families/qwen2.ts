import type { Family } from '../spec.js';
import { layerTypes, planLlamaLike } from './llama-like.js';

/**
 * Qwen2 / Qwen2.5 (modeling_qwen2): biases on q/k/v (not o); a sliding window only with
 * use_sliding_window, on the layers from max_window_layers on (or as layer_types says).
 */
export const qwen2: Family = {
  modelTypes: ['qwen2'],
  plan: (cfg, names) =>
    planLlamaLike(cfg, names, {
      family: 'qwen2',
      qkvBias: 'always',
      tiedDefault: false,
      epsDefault: 1e-6,
      windows: (c, n) => {
        const window = c.bool('use_sliding_window', false) ? c.optInt('sliding_window', 1 << 30) : undefined;
        const from = c.int('max_window_layers', 1 << 20, { min: 0, fallback: n });
        const types = layerTypes(c, n, (i) => (window !== undefined && i >= from ? 'sliding_attention' : 'full_attention'));
        return types.map((t) => (t === 'sliding_attention' ? window : undefined));
      },
    }),
};
