import type { Family } from '../spec.js';
import { planLlamaLike } from './llama-like.js';

/** Llama 1-3 (modeling_llama), and TinyLlama / SmolLM / SmolLM2, which publish as llama. */
export const llama: Family = {
  modelTypes: ['llama'],
  plan: (cfg, names) =>
    planLlamaLike(cfg, names, {
      family: 'llama',
      qkvBias: 'config',
      mlpBias: true,
      tiedDefault: false,
      epsDefault: 1e-6,
      windows: (_cfg, n) => new Array(n).fill(undefined),
    }),
};
