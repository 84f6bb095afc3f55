import type { Family } from '../spec.js';
import { patternWindows, planLlamaLike } from './llama-like.js';

/**
 * Gemma 2 (modeling_gemma2): gemma plus sandwich norms, attention scaled by
 * query_pre_attn_scalar, tanh soft-capping of attention and final logits, and a sliding window on
 * every other layer (the even ones).
 */
export const gemma2: Family = {
  modelTypes: ['gemma2'],
  plan: (cfg, names) =>
    planLlamaLike(cfg, names, {
      family: 'gemma2',
      gemma: true,
      sandwich: true,
      gemmaScaling: true,
      qkvBias: 'config',
      tiedDefault: true,
      epsDefault: 1e-6,
      windows: (c, n) => patternWindows(c, n, 2),
    }),
};
