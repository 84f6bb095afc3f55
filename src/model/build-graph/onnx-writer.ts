import protobuf from 'protobufjs';
import { ONNX_PROTO } from '../../formats/onnx-schema.js';

/** TensorProto.DataType numbers (onnx.proto) for the element types a built graph uses. */
export const ELEM = { float32: 1, int32: 6, int64: 7, bool: 9, float16: 10, bfloat16: 16 } as const;
export type ElemType = keyof typeof ELEM;

/** An attribute value: its ONNX type follows from the JS type (integers vs floats must be said). */
export type Attr = { i: number } | { f: number } | { ints: readonly number[] } | { floats: readonly number[] } | { s: string };

interface NodeMsg {
  op_type: string;
  domain?: string;
  name: string;
  input: string[];
  output: string[];
  attribute: Record<string, unknown>[];
}

/** Where an initializer's bytes live in a file beside the graph, as ONNX external data. */
export interface ExternalBytes {
  /** Path relative to the external-data folder given to onnxruntime. */
  location: string;
  offset: number;
  length: number;
}

type Dim = number | string;

let modelType: protobuf.Type | undefined;
function modelProto(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

const ATTR_TYPE = { f: 1, i: 2, s: 3, floats: 6, ints: 7 } as const;

function attribute(name: string, a: Attr): Record<string, unknown> {
  if ('i' in a) return { name, type: ATTR_TYPE.i, i: a.i };
  if ('f' in a) return { name, type: ATTR_TYPE.f, f: a.f };
  if ('ints' in a) return { name, type: ATTR_TYPE.ints, ints: [...a.ints] };
  if ('floats' in a) return { name, type: ATTR_TYPE.floats, floats: [...a.floats] };
  return { name, type: ATTR_TYPE.s, s: new TextEncoder().encode(a.s) };
}

function valueInfo(name: string, elem: ElemType, dims: readonly Dim[]) {
  return {
    name,
    type: { tensor_type: { elem_type: ELEM[elem], shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  };
}

/**
 * A minimal ONNX graph writer: nodes get fresh value names, constants are inline initializers,
 * weights are external data. It writes only what onnxruntime needs to run the graph; shape
 * inference is left to onnxruntime.
 */
export class GraphWriter {
  private readonly nodes: NodeMsg[] = [];
  private readonly initializers: Record<string, unknown>[] = [];
  private readonly inputs: ReturnType<typeof valueInfo>[] = [];
  private readonly outputs: ReturnType<typeof valueInfo>[] = [];
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, string>();
  private counter = 0;
  private readonly domains = new Set<string>();

  constructor(readonly opset = 17) {}

  /** A value name not used yet, readable in profiles (`l3/q_proj`). */
  fresh(hint: string): string {
    let name = hint;
    while (this.used.has(name)) name = `${hint}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  /** Add a node with one output; returns the output's name. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, opts: { name?: string; domain?: string } = {}): string {
    return this.opN(opType, inputs, 1, attrs, opts)[0]!;
  }

  /** Add a node with `outputs` outputs. An empty input name is an omitted optional input. */
  opN(opType: string, inputs: readonly string[], outputs: number, attrs: Record<string, Attr> = {}, opts: { name?: string; domain?: string; outputNames?: string[] } = {}): string[] {
    const base = opts.name ?? opType.toLowerCase();
    const outs = opts.outputNames ?? Array.from({ length: outputs }, (_, k) => this.fresh(outputs === 1 ? base : `${base}:${k}`));
    for (const o of opts.outputNames ?? []) this.used.add(o);
    if (opts.domain) this.domains.add(opts.domain);
    this.nodes.push({
      op_type: opType,
      ...(opts.domain ? { domain: opts.domain } : {}),
      name: this.fresh(`node/${base}`),
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  input(name: string, elem: ElemType, dims: readonly Dim[]): string {
    this.used.add(name);
    this.inputs.push(valueInfo(name, elem, dims));
    return name;
  }

  /** Declare `value` as a graph output called `name` (an Identity when the names differ). */
  output(value: string, name: string, elem: ElemType, dims: readonly Dim[]): void {
    if (value !== name) this.opN('Identity', [value], 1, {}, { outputNames: [name] });
    this.outputs.push(valueInfo(name, elem, dims));
  }

  /** An int64 constant, shared between callers that ask for the same values. */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh(`const_i64_${values.length === 1 ? values[0] : values.length}`);
      const raw = new Uint8Array(new BigInt64Array(values.map((v) => BigInt(v))).buffer);
      this.initializers.push({ name, data_type: ELEM.int64, dims: [...dims], raw_data: raw });
      this.constants.set(key, name);
    }
    return name;
  }

  /** A float32 constant (scalars for scales and epsilons, small tables such as RoPE frequencies). */
  float32(values: ArrayLike<number>, dims: readonly number[] = [values.length], hint = 'const_f32'): string {
    const arr = Float32Array.from(values as ArrayLike<number>);
    const key = `f32:${dims.join('x')}:${Buffer.from(arr.buffer).toString('base64')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh(hint);
      this.initializers.push({ name, data_type: ELEM.float32, dims: [...dims], raw_data: new Uint8Array(arr.buffer) });
      this.constants.set(key, name);
    }
    return name;
  }

  /** A weight whose bytes stay in a file: onnxruntime reads them at session creation. */
  external(name: string, elem: ElemType, dims: readonly number[], at: ExternalBytes): string {
    this.used.add(name);
    this.initializers.push({
      name,
      data_type: ELEM[elem],
      dims: [...dims],
      data_location: 1,
      external_data: [
        { key: 'location', value: at.location },
        { key: 'offset', value: String(at.offset) },
        { key: 'length', value: String(at.length) },
      ],
    });
    return name;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  encode(meta: { producer: string; version: string; docString?: string }): Uint8Array {
    const Model = modelProto();
    const msg = Model.fromObject({
      ir_version: 8,
      producer_name: meta.producer,
      producer_version: meta.version,
      ...(meta.docString ? { doc_string: meta.docString } : {}),
      opset_import: [{ domain: '', version: this.opset }, ...[...this.domains].sort().map((d) => ({ domain: d, version: 1 }))],
      graph: { name: 'main', node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    });
    return Model.encode(msg).finish();
  }
}
