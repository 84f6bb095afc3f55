import { UserError } from '../errors.js';

/** One declared graph value, as onnxruntime reports it: dims are numbers or symbolic names. */
export interface ValueMeta {
  name: string;
  type: string;
  shape: readonly (number | string)[];
}

export type IdType = 'int64' | 'int32';
export type FloatType = 'float32' | 'float16';

export interface KvCache {
  /** `separate`: Optimum's past_key_values.{i}.key|value [B, H, P, D]; `stacked`: ORT's past_{i} [2, B, H, P, D]. */
  kind: 'separate' | 'stacked';
  layers: number;
  /** Input names per layer: [key, value] for separate, [kv] for stacked. */
  pastNames: string[][];
  /** Output names matching pastNames position for position. */
  presentNames: string[][];
  /**
   * `whole`: the outputs are the past with this pass's positions appended (exporters' present.*),
   * the next pass's past as they are. `new`: only this pass's positions (new_key_values.*, the
   * graph builder's), appended by the engine into its own cache (src/run/batch-cache.ts).
   */
  presents: 'whole' | 'new';
  heads: number;
  headDim: number;
  dtype: FloatType;
}

export interface IoSignature {
  task: 'causal-lm' | 'sequence-classification';
  inputIds: { name: string; dtype: IdType };
  attentionMask: { name: string; dtype: IdType } | undefined;
  positionIds: { name: string; dtype: IdType } | undefined;
  tokenTypeIds: { name: string; dtype: IdType } | undefined;
  /** Optimum merged decoders switch between the no-past and with-past subgraphs on this bool. */
  useCacheBranch: string | undefined;
  /**
   * int64 scalar: only the last N positions get logits (0 = all), as transformers.js feeds it. The
   * head over every position is most of a teacher-forcing pass for large vocabularies.
   */
  logitsToKeep: { name: string; dims: number[] } | undefined;
  logits: { name: string; dtype: FloatType; labels: number | undefined };
  kv: KvCache | undefined;
}

export const LOGITS_TO_KEEP = 'num_logits_to_keep';
const SEPARATE_PAST = /^past_key_values\.(\d+)\.(key|value)$/;
const STACKED_PAST = /^past_(\d+)$/;

function describe(values: readonly ValueMeta[]): string {
  return values.map((v) => `${v.name}:${v.type}[${v.shape.join(',')}]`).join(' ');
}

function idType(v: ValueMeta, file: string): IdType {
  if (v.type === 'int64' || v.type === 'int32') return v.type;
  throw new UserError('E_UNSUPPORTED_IO', `${file}: input ${v.name} has type ${v.type}; expected int64 or int32`, file);
}

function floatType(v: ValueMeta, file: string): FloatType {
  if (v.type === 'float32' || v.type === 'float16') return v.type;
  throw new UserError('E_UNSUPPORTED_IO', `${file}: ${v.name} has type ${v.type}; expected float32 or float16`, file);
}

/** Static size of a cache dimension, or undefined where the graph leaves it symbolic. */
const staticDim = (d: number | string | undefined): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);

/**
 * Work out how to drive a graph from what it declares. Names are the exporters' conventions
 * (Optimum, onnxruntime-genai, onnxruntime.transformers); anything else is refused with what was found.
 */
export function detectIoSignature(
  inputs: readonly ValueMeta[],
  outputs: readonly ValueMeta[],
  file: string,
  hints: { numHeads?: number | undefined; headDim?: number | undefined } = {},
): IoSignature {
  const found = `inputs: ${describe(inputs)}; outputs: ${describe(outputs)}`;
  const byName = new Map(inputs.map((v) => [v.name, v]));
  const ids = byName.get('input_ids');
  const logitsMeta = outputs.find((o) => o.name === 'logits');
  if (!ids || !logitsMeta) {
    throw new UserError('E_UNSUPPORTED_IO', `${file}: unsupported I/O signature, need input_ids and logits (${found})`, file);
  }
  const opt = (name: string) => {
    const v = byName.get(name);
    return v ? { name, dtype: idType(v, file) } : undefined;
  };

  const separate = new Map<number, { key?: ValueMeta; value?: ValueMeta }>();
  const stacked = new Map<number, ValueMeta>();
  const known = new Set(['input_ids', 'attention_mask', 'position_ids', 'token_type_ids', 'use_cache_branch', LOGITS_TO_KEEP]);
  const unknown: string[] = [];
  for (const v of inputs) {
    const s = SEPARATE_PAST.exec(v.name);
    const k = STACKED_PAST.exec(v.name);
    if (s) {
      const e = separate.get(Number(s[1])) ?? {};
      e[s[2] as 'key' | 'value'] = v;
      separate.set(Number(s[1]), e);
    } else if (k) {
      stacked.set(Number(k[1]), v);
    } else if (!known.has(v.name)) {
      unknown.push(v.name);
    }
  }
  if (unknown.length) {
    throw new UserError('E_UNSUPPORTED_IO', `${file}: unsupported graph inputs ${unknown.join(', ')} (${found})`, file);
  }
  if (separate.size && stacked.size) {
    throw new UserError('E_UNSUPPORTED_IO', `${file}: mixes past_key_values.* and past_* cache inputs (${found})`, file);
  }

  const outNames = new Set(outputs.map((o) => o.name));
  let kv: KvCache | undefined;
  const layersOf = (m: Map<number, unknown>) => {
    const n = m.size;
    for (let i = 0; i < n; i++) if (!m.has(i)) throw new UserError('E_UNSUPPORTED_IO', `${file}: cache layer ${i} missing (${found})`, file);
    return n;
  };
  if (separate.size) {
    const layers = layersOf(separate);
    const pastNames: string[][] = [];
    const presentNames: string[][] = [];
    const presents = outNames.has('new_key_values.0.key') && !outNames.has('present.0.key') ? 'new' : 'whole';
    const prefix = presents === 'new' ? 'new_key_values' : 'present';
    for (let i = 0; i < layers; i++) {
      const e = separate.get(i)!;
      if (!e.key || !e.value) throw new UserError('E_UNSUPPORTED_IO', `${file}: layer ${i} lacks a key or value cache input (${found})`, file);
      pastNames.push([e.key.name, e.value.name]);
      const pres = [`${prefix}.${i}.key`, `${prefix}.${i}.value`];
      for (const p of pres) if (!outNames.has(p)) throw new UserError('E_UNSUPPORTED_IO', `${file}: cache input ${e.key.name} has no matching output ${p} (${found})`, file);
      presentNames.push(pres);
    }
    const k0 = separate.get(0)!.key!;
    kv = {
      kind: 'separate', layers, pastNames, presentNames, presents,
      heads: staticDim(k0.shape[1]) ?? hints.numHeads ?? 0,
      headDim: staticDim(k0.shape[3]) ?? hints.headDim ?? 0,
      dtype: floatType(k0, file),
    };
  } else if (stacked.size) {
    const layers = layersOf(stacked);
    const pastNames: string[][] = [];
    const presentNames: string[][] = [];
    for (let i = 0; i < layers; i++) {
      const p = `present_${i}`;
      if (!outNames.has(p)) throw new UserError('E_UNSUPPORTED_IO', `${file}: cache input past_${i} has no matching output ${p} (${found})`, file);
      pastNames.push([`past_${i}`]);
      presentNames.push([p]);
    }
    const p0 = stacked.get(0)!;
    if (p0.shape.length !== 5) throw new UserError('E_UNSUPPORTED_IO', `${file}: past_0 has rank ${p0.shape.length}; expected [2, batch, heads, past, head_dim] (${found})`, file);
    kv = {
      kind: 'stacked', layers, pastNames, presentNames, presents: 'whole',
      heads: staticDim(p0.shape[2]) ?? hints.numHeads ?? 0,
      headDim: staticDim(p0.shape[4]) ?? hints.headDim ?? 0,
      dtype: floatType(p0, file),
    };
  }
  if (kv && (kv.heads <= 0 || kv.headDim <= 0)) {
    throw new UserError('E_UNSUPPORTED_IO', `${file}: cache heads/head_dim are symbolic and config.json does not give them (${found})`, file);
  }

  const rank = logitsMeta.shape.length;
  const task = rank === 3 ? 'causal-lm' : rank === 2 && !kv ? 'sequence-classification' : undefined;
  if (!task) throw new UserError('E_UNSUPPORTED_IO', `${file}: logits of rank ${rank} are neither [batch, seq, vocab] nor [batch, labels] (${found})`, file);
  const useCache = byName.get('use_cache_branch');
  if (useCache && useCache.type !== 'bool') throw new UserError('E_UNSUPPORTED_IO', `${file}: use_cache_branch has type ${useCache.type}; expected bool`, file);
  const keep = byName.get(LOGITS_TO_KEEP);
  if (keep && (keep.type !== 'int64' || keep.shape.length > 1 || task !== 'causal-lm')) {
    throw new UserError('E_UNSUPPORTED_IO', `${file}: ${LOGITS_TO_KEEP} is ${keep.type}[${keep.shape.join(',')}]; expected an int64 scalar on a causal LM`, file);
  }

  return {
    task,
    inputIds: { name: 'input_ids', dtype: idType(ids, file) },
    attentionMask: opt('attention_mask'),
    positionIds: opt('position_ids'),
    tokenTypeIds: opt('token_type_ids'),
    useCacheBranch: useCache?.name,
    logitsToKeep: keep ? { name: keep.name, dims: keep.shape.length ? [1] : [] } : undefined,
    logits: {
      name: 'logits',
      dtype: floatType(logitsMeta, file),
      labels: task === 'sequence-classification' ? staticDim(logitsMeta.shape[1]) : undefined,
    },
    kv,
  };
}
