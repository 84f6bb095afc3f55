import { UserError } from '../errors.js';
import { describeOpenError, readRegularFile } from '../util/regular-file.js';
import { type Msg, arr, decodeOnnxModel, has, str, toNum } from './onnx-proto.js';

/** A graph input/output as declared: dims are numbers or symbolic names ('?' when neither). */
export interface OnnxValueInfo {
  name: string;
  elemType: string;
  dims: (number | string)[];
}

export interface OnnxExternalData {
  location: string;
  offset: number;
  length: number | undefined;
}

export interface OnnxInitializer {
  name: string;
  dataType: string;
  dims: number[];
  /** Where the bytes live when not inline; paths are as written in the file, unchecked. */
  external: OnnxExternalData | undefined;
}

export interface OnnxNode {
  opType: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  /** 0 for the main graph, 1+ inside If/Loop/Scan bodies. */
  depth: number;
}

export interface OnnxGraphInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: { domain: string; version: number }[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: OnnxInitializer[];
  nodes: OnnxNode[];
  parameterCount: number;
}

// TensorProto.DataType numbering from onnx.proto.
const DATA_TYPES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128',
  16: 'bfloat16', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2', 20: 'float8e5m2fnuz',
  21: 'uint4', 22: 'int4',
};

function valueInfo(v: Msg): OnnxValueInfo {
  const tensor = ((v.type as Msg | undefined)?.tensor_type ?? {}) as Msg;
  // Unset proto2 fields read as defaults from the prototype, so ask which member of the oneof was sent.
  const dims = arr((tensor.shape as Msg | undefined)?.dim).map((d) =>
    has(d, 'dim_value') ? toNum(d.dim_value) : has(d, 'dim_param') ? str(d.dim_param) : '?',
  );
  return { name: str(v.name), elemType: DATA_TYPES[toNum(tensor.elem_type)] ?? 'unknown', dims };
}

function initializer(t: Msg): OnnxInitializer {
  let external: OnnxExternalData | undefined;
  if (toNum(t.data_location) === 1) {
    const kv = new Map(arr(t.external_data).map((e) => [str(e.key), str(e.value)]));
    external = {
      location: kv.get('location') ?? '',
      offset: Number(kv.get('offset') ?? 0),
      length: kv.has('length') ? Number(kv.get('length')) : undefined,
    };
  }
  return {
    name: str(t.name),
    dataType: DATA_TYPES[toNum(t.data_type)] ?? 'unknown',
    dims: arr(t.dims).map(toNum),
    external,
  };
}

function walkGraph(g: Msg, depth: number, out: { nodes: OnnxNode[]; inits: OnnxInitializer[] }): void {
  for (const t of arr(g.initializer)) out.inits.push(initializer(t));
  for (const n of arr(g.node)) {
    out.nodes.push({
      opType: str(n.op_type),
      domain: str(n.domain),
      name: str(n.name),
      inputs: (n.input as string[] | undefined) ?? [],
      outputs: (n.output as string[] | undefined) ?? [],
      depth,
    });
    // If/Loop/Scan carry their bodies as graph attributes; backdoors and weights can hide there.
    for (const a of arr(n.attribute)) {
      if (a.g) walkGraph(a.g as Msg, depth + 1, out);
      for (const sub of arr(a.graphs)) walkGraph(sub, depth + 1, out);
    }
  }
}

/** Decode an ONNX file's structure. Reads the file whole: callers cap the size they accept. */
export function parseOnnx(bytes: Uint8Array, file: string): OnnxGraphInfo {
  let m: Msg;
  try {
    m = decodeOnnxModel(bytes);
  } catch (err) {
    throw new UserError('E_ONNX_PARSE', `${file}: not a readable ONNX graph (${(err as Error).message})`, file);
  }
  return onnxGraphInfo(m, file);
}

/** The structure the scan needs, from a model already decoded (the audit decodes once and shares it). */
export function onnxGraphInfo(m: Msg, file: string): OnnxGraphInfo {
  const graph = m.graph as Msg | undefined;
  if (!graph || arr(graph.node).length === 0) {
    throw new UserError('E_ONNX_PARSE', `${file}: not a readable ONNX graph (no graph or no nodes)`, file);
  }
  const out = { nodes: [] as OnnxNode[], inits: [] as OnnxInitializer[] };
  walkGraph(graph, 0, out);
  const parameterCount = out.inits.reduce((s, t) => s + t.dims.reduce((p, d) => p * d, 1), 0);
  return {
    irVersion: toNum(m.ir_version),
    producerName: str(m.producer_name),
    producerVersion: str(m.producer_version),
    opsets: arr(m.opset_import).map((o) => ({ domain: str(o.domain) || 'ai.onnx', version: toNum(o.version) })),
    inputs: arr(graph.input).map(valueInfo),
    outputs: arr(graph.output).map(valueInfo),
    initializers: out.inits,
    nodes: out.nodes,
    parameterCount,
  };
}

/** Cap on graph files parsed whole in JS; larger graphs keep their weights in external data. */
export const MAX_INLINE_GRAPH_BYTES = 2 ** 31 - 1;

export async function readOnnx(file: string): Promise<OnnxGraphInfo> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, MAX_INLINE_GRAPH_BYTES);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EFBIG') throw new UserError('E_ONNX_PARSE', `${file}: ${e.message}; protobuf cannot hold more than 2 GiB`, file);
    throw new UserError('E_ONNX_READ', `${file}: ONNX graph ${describeOpenError(err)}`, file);
  }
  return parseOnnx(bytes, file);
}

const PASS_THROUGH = new Set(['Cast', 'Reshape', 'Unsqueeze', 'Squeeze', 'Identity', 'Flatten']);

/**
 * Rows of the token-embedding table that `input_ids` indexes, found by following the ids through
 * shape-only ops to a Gather (or ORT's fused EmbedLayerNormalization). Undefined when no such table.
 */
export function embeddingRows(info: OnnxGraphInfo, idsInput = 'input_ids'): { rows: number; tensor: string } | undefined {
  const inits = new Map(info.initializers.map((t) => [t.name, t]));
  // Weights may pass through Identity/Cast/DequantizeLinear before the Gather.
  const producers = new Map<string, OnnxNode>();
  for (const n of info.nodes) for (const o of n.outputs) producers.set(o, n);
  const tableOf = (name: string, hops = 0): OnnxInitializer | undefined => {
    const t = inits.get(name);
    if (t || hops > 3) return t;
    const p = producers.get(name);
    if (p && (PASS_THROUGH.has(p.opType) || p.opType === 'DequantizeLinear') && p.inputs[0]) return tableOf(p.inputs[0], hops + 1);
    return undefined;
  };
  const derived = new Set([idsInput]);
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of info.nodes) {
      if (PASS_THROUGH.has(n.opType) && derived.has(n.inputs[0] ?? '') && n.outputs[0] && !derived.has(n.outputs[0])) {
        derived.add(n.outputs[0]);
        changed = true;
      }
    }
  }
  for (const n of info.nodes) {
    let table: OnnxInitializer | undefined;
    if (n.opType === 'Gather' && derived.has(n.inputs[1] ?? '')) table = tableOf(n.inputs[0] ?? '');
    if (n.opType === 'EmbedLayerNormalization' && derived.has(n.inputs[0] ?? '')) table = tableOf(n.inputs[2] ?? '');
    if (table && table.dims.length === 2 && table.dims[0] !== undefined) return { rows: table.dims[0], tensor: table.name };
  }
  return undefined;
}
