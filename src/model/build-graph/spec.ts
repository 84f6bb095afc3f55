import type { ConfigReader } from './config-reader.js';

/**
 * What a family module derives from config.json: the decoder to build, in terms of the
 * checkpoint's own tensor names, plus the exact set of tensors (and shapes) the checkpoint must
 * hold. The graph builder (decoder.ts) is shared; families differ only in the spec.
 */

export type Activation = 'silu' | 'gelu' | 'gelu_tanh' | 'relu';

/** A dense layer. `inOut`: the weight is stored [in, out] (GPT-2's Conv1D), else [out, in] (nn.Linear). */
export interface Linear {
  weight: string;
  bias?: string | undefined;
  inOut: boolean;
  out: number;
}

export interface Norm {
  weight: string;
  bias?: string | undefined;
}

/** One set of rotary frequencies (gemma3 has one for local and one for global layers). */
export interface Rope {
  /** inverse frequencies, rotaryDim / 2 of them, in float64 before they become float32 constants. */
  invFreq: number[];
  /** Multiplies cos and sin (longrope/yarn attention factor; 1 otherwise). */
  scaling: number;
  /** Leading head dims that rotate; the rest pass through (phi3 partial_rotary_factor). */
  rotaryDim: number;
  describe: string;
}

export interface Layer {
  preAttnNorm: Norm;
  /** Gemma 2/3 sandwich norm on the attention output, before the residual add. */
  postAttnNorm?: Norm | undefined;
  preMlpNorm: Norm;
  postMlpNorm?: Norm | undefined;
  qkv: { fused: Linear } | { q: Linear; k: Linear; v: Linear };
  o: Linear;
  /** Gemma 3 RMSNorm over each head's query and key. */
  qNorm?: Norm | undefined;
  kNorm?: Norm | undefined;
  mlp: { kind: 'gated'; gateUp: { fused: Linear } | { gate: Linear; up: Linear }; down: Linear } | { kind: 'plain'; fc: Linear; proj: Linear };
  /** Index into DecoderSpec.ropes; undefined for learned positions. */
  rope?: number | undefined;
  /** Keys further back than this many cache slots are masked (sliding-window layers). */
  window?: number | undefined;
  /** Multiplies q·k. */
  attnScale: number;
}

export interface DecoderSpec {
  family: string;
  modelType: string;
  vocab: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  norm: { kind: 'layer' | 'rms'; eps: number; plusOne: boolean };
  embed: string;
  /** Gemma: embeddings times sqrt(hidden). */
  embedScale?: number | undefined;
  /** GPT-2's learned position table. */
  positions?: string | undefined;
  ropes: Rope[];
  layers: Layer[];
  finalNorm: Norm;
  /** [vocab, hidden], stored as nn.Linear; the embedding itself when tied. */
  head: string;
  act: Activation;
  attnSoftcap?: number | undefined;
  finalSoftcap?: number | undefined;
  /** Facts for `inspect` (ignored buffers, tied head, windows, rope variants). */
  notes: string[];
}

/** A tensor the checkpoint must hold, with the config keys its shape comes from (for messages). */
export interface ExpectedTensor {
  shape: readonly number[];
  why: string;
}

/** The tensors a config implies: required, allowed but unused, and ignorable buffers. */
export class TensorTable {
  readonly required = new Map<string, ExpectedTensor>();
  readonly optional = new Map<string, ExpectedTensor>();
  private readonly ignored: RegExp[] = [];

  need(name: string, shape: readonly number[], why: string): string {
    this.required.set(name, { shape, why });
    return name;
  }

  allow(name: string, shape: readonly number[], why: string): void {
    this.optional.set(name, { shape, why });
  }

  /** Non-parameter buffers old exporters saved (causal masks, rotary tables): skipped, any shape. */
  ignore(pattern: RegExp): void {
    this.ignored.push(pattern);
  }

  isIgnored(name: string): boolean {
    return this.ignored.some((p) => p.test(name));
  }
}

export interface FamilyPlan {
  spec: DecoderSpec;
  tensors: TensorTable;
}

export interface Family {
  /** The `model_type` values this module reads. */
  modelTypes: readonly string[];
  /** Derive the decoder and its tensors; `names` are the checkpoint's tensor names (prefix detection). */
  plan(cfg: ConfigReader, names: ReadonlySet<string>): FamilyPlan;
}

/** nn.Linear [out, in] (+ bias [out]) in the table, as a Linear. */
export function linear(t: TensorTable, name: string, out: number, inp: number, bias: boolean, why: string): Linear {
  return {
    weight: t.need(`${name}.weight`, [out, inp], why),
    bias: bias ? t.need(`${name}.bias`, [out], why) : undefined,
    inOut: false,
    out,
  };
}

export function norm(t: TensorTable, name: string, dim: number, why: string, bias = false): Norm {
  return { weight: t.need(`${name}.weight`, [dim], why), bias: bias ? t.need(`${name}.bias`, [dim], why) : undefined };
}
