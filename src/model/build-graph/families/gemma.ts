import type { Family } from '../spec.js';
import { planLlamaLike } from './llama-like.js';

/** Gemma (modeling_gemma): RMSNorm by (1 + w), embedding × sqrt(hidden), GeLU-tanh gate, tied head. */
export const gemma: Family = {
  modelTypes: ['gemma'],
  plan: (cfg, names) =>
    planLlamaLike(cfg, names, {
      family: 'gemma',
      gemma: true,
      qkvBias: 'config',
      tiedDefault: true,
      epsDefault: 1e-6,
      windows: (_cfg, n) => new Array(n).fill(undefined),
    }),
};
