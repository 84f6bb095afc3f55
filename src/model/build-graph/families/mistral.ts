import type { Family } from '../spec.js';
import { planLlamaLike } from './llama-like.js';

/** Mistral (modeling_mistral): llama's layout; sliding_window, when set, applies to every layer. */
export const mistral: Family = {
  modelTypes: ['mistral'],
  plan: (cfg, names) =>
    planLlamaLike(cfg, names, {
      family: 'mistral',
      tiedDefault: false,
      epsDefault: 1e-6,
      windows: (c, n) => new Array(n).fill(c.optInt('sliding_window', 1 << 30)),
    }),
};
