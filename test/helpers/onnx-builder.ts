import protobuf from 'protobufjs';
import { ONNX_PROTO } from '../../src/formats/onnx-schema.js';

const ELEM = { float32: 1, int64: 7, int32: 6 } as const;

/** A one-node ONNX graph (Identity per input) with the given inputs, for I/O signature tests. */
export function identityGraph(values: { name: string; type: keyof typeof ELEM; dims: (number | string)[] }[]): Uint8Array {
  const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  const Model = root.lookupType('onnx.ModelProto');
  const vi = (name: string, type: keyof typeof ELEM, dims: (number | string)[]) => ({
    name,
    type: { tensor_type: { elem_type: ELEM[type], shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  });
  const msg = Model.fromObject({
    ir_version: 8,
    producer_name: 'trigger-scan-tests',
    opset_import: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: values.map((v) => ({ op_type: 'Identity', input: [v.name], output: [`${v.name}_out`] })),
      input: values.map((v) => vi(v.name, v.type, v.dims)),
      output: values.map((v) => vi(`${v.name}_out`, v.type, v.dims)),
    },
  });
  return Model.encode(msg).finish();
}
