import protobuf from 'protobufjs';
import { ONNX_PROTO } from './onnx-schema.js';

/**
 * The one ONNX decoder: protobufjs over the embedded onnx.proto, giving the ModelProto as plain
 * messages, plus the accessors every reader of those messages uses. `onnx.ts` summarises what the
 * scan needs from the decoded model; the static audit reads more of the same messages
 * (external-data keys exactly as written, tensor payload sizes, attribute values, model-local
 * functions). Throws protobufjs's error on bytes that are not a ModelProto.
 */

export type Msg = Record<string, unknown>;

let modelType: protobuf.Type | undefined;
export function decodeOnnxModel(bytes: Uint8Array): Msg {
  modelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType.decode(bytes) as unknown as Msg;
}

export const arr = (v: unknown): Msg[] => (Array.isArray(v) ? (v as Msg[]) : []);
export const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
export const has = (o: Msg | undefined, k: string): boolean => o !== undefined && Object.prototype.hasOwnProperty.call(o, k);

/** int64 fields decode to Long; keep exactness with BigInt. */
export function toBig(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (v && typeof v === 'object' && 'toString' in v && 'low' in v) return BigInt((v as { toString(): string }).toString());
  return 0n;
}
export const toNum = (v: unknown): number => Number(toBig(v));

/** Bits per element of TensorProto.DataType; undefined for strings and unknown types. */
export const ELEM_BITS: Record<number, number> = {
  1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64, 14: 64, 15: 128, 16: 16,
  17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4, 24: 8,
};

export function attr(node: Msg, name: string): Msg | undefined {
  return arr(node.attribute).find((a) => a.name === name);
}

/** A tensor reachable from the model, with where it sits (for messages). */
export interface TensorSite {
  tensor: Msg;
  where: string;
}

/** Every GraphProto in the model: the main graph, control-flow bodies, function bodies are nodes only. */
export function forEachGraph(model: Msg, cb: (g: Msg, path: string, depth: number) => void): void {
  const walk = (g: Msg, p: string, depth: number): void => {
    cb(g, p, depth);
    for (const n of arr(g.node)) {
      for (const a of arr(n.attribute)) {
        if (a.g) walk(a.g as Msg, `${p}/${str(n.name) || str(n.op_type)}.${str(a.name)}`, depth + 1);
        for (const [i, sub] of arr(a.graphs).entries()) walk(sub, `${p}/${str(n.name) || str(n.op_type)}.${str(a.name)}[${i}]`, depth + 1);
      }
    }
  };
  if (model.graph) walk(model.graph as Msg, 'graph', 0);
  for (const t of arr(model.training_info)) {
    if (t.initialization) walk(t.initialization as Msg, 'training_info.initialization', 1);
    if (t.algorithm) walk(t.algorithm as Msg, 'training_info.algorithm', 1);
  }
}

/** Nodes of one node list plus those of graph attributes below it (for function bodies). */
function nodeTensors(nodes: Msg[], where: string, out: TensorSite[]): void {
  for (const n of nodes) {
    const label = `${where} node ${JSON.stringify(str(n.name) || str(n.op_type))}`;
    for (const a of arr(n.attribute)) {
      if (a.t) out.push({ tensor: a.t as Msg, where: `${label} attribute ${str(a.name)}` });
      for (const t of arr(a.tensors)) out.push({ tensor: t, where: `${label} attribute ${str(a.name)}` });
      const sp = a.sparse_tensor as Msg | undefined;
      if (sp?.values) out.push({ tensor: sp.values as Msg, where: `${label} attribute ${str(a.name)}` });
      if (sp?.indices) out.push({ tensor: sp.indices as Msg, where: `${label} attribute ${str(a.name)}` });
      for (const s of arr(a.sparse_tensors)) {
        if (s.values) out.push({ tensor: s.values as Msg, where: `${label} attribute ${str(a.name)}` });
        if (s.indices) out.push({ tensor: s.indices as Msg, where: `${label} attribute ${str(a.name)}` });
      }
    }
  }
}

/** Every TensorProto in the model: initializers, sparse initializers, attribute tensors, in graphs and functions. */
export function allTensors(model: Msg): TensorSite[] {
  const out: TensorSite[] = [];
  forEachGraph(model, (g, p) => {
    for (const t of arr(g.initializer)) out.push({ tensor: t, where: `${p} initializer ${JSON.stringify(str(t.name))}` });
    for (const s of arr(g.sparse_initializer)) {
      if (s.values) out.push({ tensor: s.values as Msg, where: `${p} sparse initializer` });
      if (s.indices) out.push({ tensor: s.indices as Msg, where: `${p} sparse initializer indices` });
    }
    nodeTensors(arr(g.node), p, out);
  });
  for (const f of arr(model.functions)) nodeTensors(arr(f.node), `function ${str(f.domain)}.${str(f.name)}`, out);
  return out;
}

/** Declared element count (BigInt) and whether any dim is negative. */
export function elementCount(t: Msg): { count: bigint; negative: boolean } {
  let count = 1n;
  let negative = false;
  for (const d of arr(t.dims)) {
    const v = toBig(d);
    if (v < 0n) negative = true;
    count *= v < 0n ? 0n : v;
  }
  return { count, negative };
}

/** Bytes of inline data present, in the tensor's declared encoding; undefined when not computable. */
export function inlineElements(t: Msg): { raw: number } | { elements: number } | undefined {
  if (has(t, 'raw_data')) return { raw: (t.raw_data as Uint8Array).length };
  const lens = ['float_data', 'int32_data', 'int64_data', 'double_data', 'uint64_data', 'string_data'].map((k) => arr(t[k]).length);
  const n = lens.reduce((a, b) => a + b, 0);
  return { elements: n };
}

/**
 * Integer (or float) values of a small inline tensor, at most `limit`; undefined if the encoding
 * is unknown or data is external. Used for constants that feed comparisons and shapes.
 */
export function tensorValues(t: Msg, limit = 64): number[] | undefined {
  if (toNum(t.data_location) === 1) return undefined;
  const dt = toNum(t.data_type);
  if (has(t, 'raw_data')) {
    const b = t.raw_data as Uint8Array;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const size = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 11: 8, 12: 4, 13: 8 }[dt];
    if (!size) return undefined;
    const n = Math.min(limit, Math.floor(b.length / size));
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const o = i * size;
      switch (dt) {
        case 1: out.push(dv.getFloat32(o, true)); break;
        case 2: case 9: out.push(dv.getUint8(o)); break;
        case 3: out.push(dv.getInt8(o)); break;
        case 4: out.push(dv.getUint16(o, true)); break;
        case 5: out.push(dv.getInt16(o, true)); break;
        case 6: out.push(dv.getInt32(o, true)); break;
        case 7: out.push(Number(dv.getBigInt64(o, true))); break;
        case 11: out.push(dv.getFloat64(o, true)); break;
        case 12: out.push(dv.getUint32(o, true)); break;
        case 13: out.push(Number(dv.getBigUint64(o, true))); break;
      }
    }
    return out;
  }
  for (const k of ['int64_data', 'int32_data', 'uint64_data', 'float_data', 'double_data']) {
    const a = t[k];
    if (Array.isArray(a) && a.length) return a.slice(0, limit).map(toNum).map((x, i) => (k === 'float_data' || k === 'double_data' ? Number(a[i]) : x));
  }
  return [];
}

/** The value of a Constant node, as a small list of numbers, when it is numeric and inline. */
export function constantNodeValues(n: Msg): number[] | undefined {
  for (const a of arr(n.attribute)) {
    switch (str(a.name)) {
      case 'value':
        return a.t ? tensorValues(a.t as Msg) : undefined;
      case 'value_int':
        return [toNum(a.i)];
      case 'value_ints':
        return arr(a.ints).slice(0, 64).map(toNum);
      case 'value_float':
        return [Number(a.f)];
      case 'value_floats':
        return (Array.isArray(a.floats) ? (a.floats as number[]) : []).slice(0, 64);
    }
  }
  return undefined;
}
