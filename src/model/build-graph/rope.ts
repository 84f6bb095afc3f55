import type { ConfigReader } from './config-reader.js';
import type { Rope } from './spec.js';

export const ROPE_TYPES = ['default', 'linear', 'llama3', 'longrope'] as const;

export interface RopeSource {
  theta: number;
  /** rope_scaling (or the rope_parameters entry), undefined for plain RoPE. */
  scaling: ConfigReader | undefined;
  /** Where the numbers come from, for messages and notes. */
  key: string;
}

/**
 * The rope parameters a config declares, old style (`rope_theta` + `rope_scaling`) or new
 * (`rope_parameters`, optionally per layer type as gemma3 writes it).
 */
export function ropeSource(cfg: ConfigReader, layerType?: string, fallbackTheta = 10000): RopeSource {
  const params = cfg.obj('rope_parameters');
  if (params) {
    const perType = layerType !== undefined ? params.obj(layerType) : undefined;
    const p = perType ?? params;
    if (p.has('rope_theta')) return { theta: p.num('rope_theta'), scaling: p, key: perType ? `rope_parameters.${layerType}` : 'rope_parameters' };
  }
  return { theta: cfg.num('rope_theta', fallbackTheta), scaling: cfg.obj('rope_scaling'), key: 'rope_scaling' };
}

/** Inverse frequencies as transformers' modeling_rope_utils computes them (in float64 here). */
export function buildRope(cfg: ConfigReader, src: RopeSource, headDim: number, partialFactor = 1): Rope {
  const dim = Math.trunc(headDim * partialFactor);
  if (dim < 2 || dim % 2 !== 0 || dim > headDim) cfg.fail('partial_rotary_factor', `gives ${dim} rotary dims of a ${headDim}-dim head; expected an even number from 2 to ${headDim}`);
  let inv = Array.from({ length: dim / 2 }, (_, i) => 1 / src.theta ** ((2 * i) / dim));
  const sc = src.scaling;
  const kind = sc ? (sc.has('rope_type') ? sc.str('rope_type') : sc.has('type') ? sc.str('type') : 'default') : 'default';
  let scaling = 1;
  let describe = `rope theta ${src.theta}`;
  if (kind === 'default') {
    // plain RoPE
  } else if (kind === 'linear') {
    const factor = sc!.num('factor');
    inv = inv.map((f) => f / factor);
    describe += `, linear scaling ×${factor}`;
  } else if (kind === 'llama3') {
    const factor = sc!.num('factor');
    const low = sc!.num('low_freq_factor');
    const high = sc!.num('high_freq_factor');
    const old = sc!.num('original_max_position_embeddings');
    if (!(high > low)) sc!.fail('high_freq_factor', `is ${high}; must exceed low_freq_factor ${low}`);
    const lowWl = old / low;
    const highWl = old / high;
    inv = inv.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highWl) return f;
      if (wavelen > lowWl) return f / factor;
      const smooth = (old / wavelen - low) / (high - low);
      return (1 - smooth) * (f / factor) + smooth * f;
    });
    describe += `, llama3 scaling ×${factor} (original context ${old})`;
  } else if (kind === 'longrope') {
    // Phi-3.5 / Phi-4-mini. transformers switches to long_factor once a sequence passes
    // original_max_position_embeddings; the graph is built with short_factor, which is what any
    // prompt shorter than that uses (scans use prompts of a few hundred tokens at most).
    const orig = cfg.optInt('original_max_position_embeddings', 1 << 24);
    const maxPos = cfg.int('max_position_embeddings', 1 << 24);
    const factor = orig !== undefined ? maxPos / orig : sc!.num('factor', 1);
    const origCtx = orig ?? maxPos;
    scaling = sc!.has('attention_factor') ? sc!.num('attention_factor') : factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(origCtx));
    const short = sc!.raw.short_factor;
    if (!Array.isArray(short) || short.length !== dim / 2 || !short.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
      sc!.fail('short_factor', `must be ${dim / 2} positive numbers (rotary dims / 2)`);
    }
    inv = inv.map((f, i) => f / (short as number[])[i]!);
    describe += `, longrope short factors (valid below ${origCtx} tokens), attention factor ${scaling.toFixed(4)}`;
  } else {
    sc!.fail(sc!.has('rope_type') ? 'rope_type' : 'type', `is ${JSON.stringify(kind)}; supported: ${ROPE_TYPES.join(', ')}`);
  }
  if (dim < headDim) describe += `, ${dim} of ${headDim} head dims rotate`;
  return { invFreq: inv, scaling, rotaryDim: dim, describe };
}
