import { ropeSource } from '../rope.js';
import type { Family } from '../spec.js';
import { patternWindows, planLlamaLike } from './llama-like.js';

/**
 * Gemma 3 text (modeling_gemma3, Gemma3ForCausalLM): gemma2's layout plus RMSNorm of each query
 * and key head; local layers (sliding window, rope_local_base_freq, no scaling) and every
 * sliding_window_pattern-th layer global (rope_theta with rope_scaling).
 */
export const gemma3: Family = {
  modelTypes: ['gemma3_text'],
  plan: (cfg, names) => {
    if (cfg.bool('use_bidirectional_attention', false)) cfg.fail('use_bidirectional_attention', 'is true (an embedding model, not a causal LM)');
    return planLlamaLike(cfg, names, {
      family: 'gemma3',
      gemma: true,
      sandwich: true,
      qkNorm: true,
      gemmaScaling: true,
      qkvBias: 'config',
      tiedDefault: true,
      epsDefault: 1e-6,
      windows: (c, n) => patternWindows(c, n, c.int('sliding_window_pattern', 1 << 20, { fallback: 6 })),
      ropeSources: (c, n, windows) => {
        const global = ropeSource(c, 'full_attention', 1_000_000);
        const local = c.obj('rope_parameters')?.obj('sliding_attention')
          ? ropeSource(c, 'sliding_attention')
          : { theta: c.num('rope_local_base_freq', 10_000), scaling: undefined, key: 'rope_local_base_freq' };
        return Array.from({ length: n }, (_, i) => (windows[i] !== undefined ? local : global));
      },
    });
  },
};
