import type { ConfigReader } from '../config-reader.js';
import type { Activation } from '../spec.js';

// transformers' ACT2FN names → what the graph computes.
const ACTIVATIONS: Record<string, Activation> = {
  silu: 'silu',
  swish: 'silu',
  gelu: 'gelu',
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  relu: 'relu',
};

export function activation(cfg: ConfigReader, key: string, fallback: string): Activation {
  const name = cfg.str(key, fallback);
  const a = ACTIVATIONS[name];
  if (!a) cfg.fail(key, `is ${JSON.stringify(name)}; supported: ${Object.keys(ACTIVATIONS).join(', ')}`);
  return a;
}

/** Refuse config switches the builder does not implement, rather than run a different model. */
export function refuseTrue(cfg: ConfigReader, keys: readonly string[]): void {
  for (const k of keys) if (cfg.bool(k, false)) cfg.fail(k, 'is true; trigger-scan does not build this variant');
}
