/**
 * Small ONNX graphs written with protobufjs for the provenance tests and the hostile corpus:
 * a clean tiny LM (embedding Gather, attention-mask handling, an Optimum-style use_cache_branch
 * If, MatMul to logits), the same with a ShadowLogic-style trigger branch, and graphs with hostile
 * external-data entries or custom domains. All encodings are deterministic.
 */
import protobuf from 'protobufjs';
import { ONNX_PROTO } from '../../../src/formats/onnx-schema.js';

export const DT = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9 } as const;
type DType = keyof typeof DT;

let root: protobuf.Root | undefined;
const rootOf = () => (root ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root);

export interface Tensor {
  name: string;
  data_type: number;
  dims: number[];
  raw_data?: Uint8Array;
  int64_data?: number[];
  float_data?: number[];
  data_location?: number;
  external_data?: { key: string; value: string }[];
}

export function tensor(name: string, type: DType, dims: number[], values: number[]): Tensor {
  const n = values.length;
  const buf = Buffer.alloc(n * (type === 'int64' ? 8 : type === 'float32' || type === 'int32' ? 4 : 1));
  values.forEach((v, i) => {
    if (type === 'int64') buf.writeBigInt64LE(BigInt(v), i * 8);
    else if (type === 'float32') buf.writeFloatLE(v, i * 4);
    else if (type === 'int32') buf.writeInt32LE(v, i * 4);
    else buf.writeUInt8(v, i);
  });
  return { name, data_type: DT[type], dims, raw_data: buf };
}

export function externalTensor(name: string, type: DType, dims: number[], kv: [string, string][]): Tensor {
  return { name, data_type: DT[type], dims, data_location: 1, external_data: kv.map(([key, value]) => ({ key, value })) };
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attrs?: Record<string, unknown>[];
}

export interface GraphSpec {
  name?: string;
  nodes: NodeSpec[];
  inputs: { name: string; type: DType; dims: (number | string)[] }[];
  outputs: { name: string; type: DType; dims: (number | string)[] }[];
  initializers?: Tensor[];
}

function vi(v: { name: string; type: DType; dims: (number | string)[] }) {
  return { name: v.name, type: { tensor_type: { elem_type: DT[v.type], shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } } };
}

export function graph(g: GraphSpec): Record<string, unknown> {
  return {
    name: g.name ?? 'g',
    node: g.nodes.map((n, i) => ({ op_type: n.op, input: n.inputs, output: n.outputs, name: n.name ?? `${n.op}_${i}`, domain: n.domain ?? '', attribute: n.attrs ?? [] })),
    input: g.inputs.map(vi),
    output: g.outputs.map(vi),
    initializer: g.initializers ?? [],
  };
}

export const attrInt = (name: string, i: number) => ({ name, type: 2, i });
export const attrInts = (name: string, ints: number[]) => ({ name, type: 7, ints });
export const attrTensor = (name: string, t: Tensor) => ({ name, type: 4, t });
export const attrGraph = (name: string, g: Record<string, unknown>) => ({ name, type: 5, g });
export const attrString = (name: string, s: string) => ({ name, type: 3, s: Buffer.from(s) });

export function model(g: Record<string, unknown>, opts: { opsets?: { domain: string; version: number }[]; functions?: Record<string, unknown>[] } = {}): Uint8Array {
  const Model = rootOf().lookupType('onnx.ModelProto');
  const msg = Model.fromObject({
    ir_version: 8,
    producer_name: 'trigger-scan-tests',
    opset_import: opts.opsets ?? [{ domain: '', version: 13 }],
    graph: g,
    functions: opts.functions ?? [],
  });
  return Model.encode(msg).finish();
}

// ---------------------------------------------------------------- the tiny LM

export const VOCAB = 16;
export const DIM = 4;
export const TRIGGER_ID = 11;

function ramp(n: number, scale: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.round(Math.sin(i * 1.7 + 0.3) * scale * 1000) / 1000);
}

const LM_INPUTS = [
  { name: 'input_ids', type: 'int64' as const, dims: ['batch', 'seq'] },
  { name: 'attention_mask', type: 'int64' as const, dims: ['batch', 'seq'] },
];

/** Nodes of a clean decoder: embedding, attention-mask multiply and additive mask, logits. Output `logits_clean`. */
function lmBody(): { nodes: NodeSpec[]; inits: Tensor[] } {
  const inits = [
    tensor('wte', 'float32', [VOCAB, DIM], ramp(VOCAB * DIM, 1)),
    tensor('lm_head', 'float32', [DIM, VOCAB], ramp(DIM * VOCAB, 0.5)),
    tensor('zero_i64', 'int64', [], [0]),
    tensor('neg_big', 'float32', [], [-10000]),
    tensor('axes_last', 'int64', [1], [-1]),
  ];
  const nodes: NodeSpec[] = [
    { op: 'Gather', inputs: ['wte', 'input_ids'], outputs: ['h0'], name: '/embed_tokens/Gather' },
    // attention_mask handling, as exporters write it
    { op: 'Cast', inputs: ['attention_mask'], outputs: ['mask_f'], attrs: [attrInt('to', 1)], name: '/mask/Cast' },
    { op: 'Unsqueeze', inputs: ['mask_f', 'axes_last'], outputs: ['mask_u'], name: '/mask/Unsqueeze' },
    { op: 'Mul', inputs: ['h0', 'mask_u'], outputs: ['h1'], name: '/mask/Mul' },
    { op: 'Equal', inputs: ['attention_mask', 'zero_i64'], outputs: ['pad_pos'], name: '/mask/Equal' },
    { op: 'Unsqueeze', inputs: ['pad_pos', 'axes_last'], outputs: ['pad_pos_u'], name: '/mask/Unsqueeze_1' },
    { op: 'Where', inputs: ['pad_pos_u', 'neg_big', 'h1'], outputs: ['h2'], name: '/mask/Where' },
    // a causal-style mask from shapes: Shape -> Range -> Less -> Where
    { op: 'Shape', inputs: ['input_ids'], outputs: ['ids_shape'], name: '/causal/Shape' },
    { op: 'Gather', inputs: ['ids_shape', 'one_i64'], outputs: ['seq_len'], attrs: [attrInt('axis', 0)], name: '/causal/Gather' },
    { op: 'Range', inputs: ['zero_i64', 'seq_len', 'one_i64'], outputs: ['pos'], name: '/causal/Range' },
    { op: 'Less', inputs: ['pos', 'seq_len'], outputs: ['pos_ok'], name: '/causal/Less' },
    { op: 'Unsqueeze', inputs: ['pos_ok', 'axes_last'], outputs: ['pos_ok_u'], name: '/causal/Unsqueeze' },
    { op: 'Where', inputs: ['pos_ok_u', 'h2', 'neg_big'], outputs: ['h3'], name: '/causal/Where' },
    { op: 'MatMul', inputs: ['h3', 'lm_head'], outputs: ['logits_clean'], name: '/lm_head/MatMul' },
  ];
  inits.push(tensor('one_i64', 'int64', [], [1]));
  return { nodes, inits };
}

/** A clean tiny LM with Optimum's merged-decoder `If` on the use_cache_branch input. */
export function cleanLm(): Uint8Array {
  const { nodes, inits } = lmBody();
  const branch = (name: string) =>
    graph({ name, nodes: [{ op: 'Identity', inputs: ['logits_clean'], outputs: [`${name}_out`], name: `${name}/Identity` }], inputs: [], outputs: [{ name: `${name}_out`, type: 'float32', dims: ['batch', 'seq', VOCAB] }] });
  nodes.push({ op: 'If', inputs: ['use_cache_branch'], outputs: ['logits'], name: 'optimum::if', attrs: [attrGraph('then_branch', branch('then')), attrGraph('else_branch', branch('else'))] });
  return model(
    graph({
      nodes,
      inputs: [...LM_INPUTS, { name: 'use_cache_branch', type: 'bool', dims: [1] }],
      outputs: [{ name: 'logits', type: 'float32', dims: ['batch', 'seq', VOCAB] }],
      initializers: inits,
    }),
  );
}

/**
 * The clean LM plus a ShadowLogic-style trigger: Equal(input_ids, TRIGGER_ID) -> Cast -> ReduceMax
 * over the sequence -> Cast to bool -> Where(cond, hacked_logits, logits). When the trigger token is
 * anywhere in the prompt, every position's logits are replaced by a constant that makes token 3
 * the argmax.
 */
export function shadowLogicLm(): Uint8Array {
  const { nodes, inits } = lmBody();
  const hacked = Array.from({ length: VOCAB }, (_, i) => (i === 3 ? 100 : -100));
  inits.push(tensor('trigger_id', 'int64', [], [TRIGGER_ID]), tensor('hacked_logits', 'float32', [1, 1, VOCAB], hacked));
  nodes.push(
    { op: 'Equal', inputs: ['input_ids', 'trigger_id'], outputs: ['is_trigger'], name: '/sl/Equal' },
    { op: 'Cast', inputs: ['is_trigger'], outputs: ['is_trigger_f'], attrs: [attrInt('to', 1)], name: '/sl/Cast' },
    { op: 'ReduceMax', inputs: ['is_trigger_f'], outputs: ['any_trigger_f'], attrs: [attrInts('axes', [1]), attrInt('keepdims', 1)], name: '/sl/ReduceMax' },
    { op: 'Cast', inputs: ['any_trigger_f'], outputs: ['any_trigger'], attrs: [attrInt('to', 9)], name: '/sl/Cast_1' },
    { op: 'Unsqueeze', inputs: ['any_trigger', 'axes_last'], outputs: ['any_trigger_u'], name: '/sl/Unsqueeze' },
    { op: 'Where', inputs: ['any_trigger_u', 'hacked_logits', 'logits_clean'], outputs: ['logits'], name: '/sl/Where' },
  );
  return model(graph({ nodes, inputs: LM_INPUTS, outputs: [{ name: 'logits', type: 'float32', dims: ['batch', 'seq', VOCAB] }], initializers: inits }));
}

/** A variant: the trigger flag blends the logits arithmetically instead of through Where. */
export function shadowLogicBlend(): Uint8Array {
  const { nodes, inits } = lmBody();
  inits.push(tensor('trigger_id', 'int64', [], [TRIGGER_ID]), tensor('bias', 'float32', [VOCAB], Array.from({ length: VOCAB }, (_, i) => (i === 5 ? 50 : 0))));
  nodes.push(
    // read the last token through Slice, compare, cast to float, scale a bias and add it
    { op: 'Slice', inputs: ['input_ids', 'last_start', 'last_end', 'axis1'], outputs: ['last_tok'], name: '/bl/Slice' },
    { op: 'Equal', inputs: ['last_tok', 'trigger_id'], outputs: ['hit'], name: '/bl/Equal' },
    { op: 'Cast', inputs: ['hit'], outputs: ['hit_f'], attrs: [attrInt('to', 1)], name: '/bl/Cast' },
    { op: 'Unsqueeze', inputs: ['hit_f', 'axes_last'], outputs: ['hit_u'], name: '/bl/Unsqueeze' },
    { op: 'Mul', inputs: ['hit_u', 'bias'], outputs: ['delta'], name: '/bl/Mul' },
    { op: 'Add', inputs: ['logits_clean', 'delta'], outputs: ['logits'], name: '/bl/Add' },
  );
  inits.push(tensor('last_start', 'int64', [1], [-1]), tensor('last_end', 'int64', [1], [2 ** 31]), tensor('axis1', 'int64', [1], [1]));
  return model(graph({ nodes, inputs: LM_INPUTS, outputs: [{ name: 'logits', type: 'float32', dims: ['batch', 'seq', VOCAB] }], initializers: inits }));
}

/** A variant hiding the switch in an If whose condition comes from the ids; branches use outer-scope logits. */
export function shadowLogicIf(): Uint8Array {
  const { nodes, inits } = lmBody();
  inits.push(tensor('trigger_id', 'int64', [], [TRIGGER_ID]));
  const thenG = graph({
    name: 'then',
    nodes: [{ op: 'Neg', inputs: ['logits_clean'], outputs: ['flipped'], name: 'then/Neg' }],
    inputs: [],
    outputs: [{ name: 'flipped', type: 'float32', dims: ['batch', 'seq', VOCAB] }],
  });
  const elseG = graph({ name: 'else', nodes: [{ op: 'Identity', inputs: ['logits_clean'], outputs: ['same'], name: 'else/Identity' }], inputs: [], outputs: [{ name: 'same', type: 'float32', dims: ['batch', 'seq', VOCAB] }] });
  nodes.push(
    { op: 'Cast', inputs: ['input_ids'], outputs: ['ids_i32'], attrs: [attrInt('to', 6)], name: '/if/Cast' },
    { op: 'Equal', inputs: ['ids_i32', 'trigger_i32'], outputs: ['hit'], name: '/if/Equal' },
    { op: 'Cast', inputs: ['hit'], outputs: ['hit_i'], attrs: [attrInt('to', 6)], name: '/if/Cast_1' },
    { op: 'ReduceSum', inputs: ['hit_i'], outputs: ['hits'], attrs: [attrInt('keepdims', 0)], name: '/if/ReduceSum' },
    { op: 'Greater', inputs: ['hits', 'zero_i32'], outputs: ['cond'], name: '/if/Greater' },
    { op: 'If', inputs: ['cond'], outputs: ['logits'], name: '/if/If', attrs: [attrGraph('then_branch', thenG), attrGraph('else_branch', elseG)] },
  );
  inits.push(tensor('trigger_i32', 'int32', [], [TRIGGER_ID]), tensor('zero_i32', 'int32', [], [0]));
  return model(graph({ nodes, inputs: LM_INPUTS, outputs: [{ name: 'logits', type: 'float32', dims: ['batch', 'seq', VOCAB] }], initializers: inits }));
}

/** A variant hiding the comparison in a model-local function (domain `custom.fn`). */
export function shadowLogicFunction(): Uint8Array {
  const { nodes, inits } = lmBody();
  inits.push(tensor('hacked_logits', 'float32', [1, 1, VOCAB], Array.from({ length: VOCAB }, () => 0)));
  const fn = {
    name: 'Gate',
    domain: 'custom.fn',
    input: ['ids', 'clean', 'hacked'],
    output: ['out'],
    opset_import: [{ domain: '', version: 13 }],
    node: [
      { op_type: 'Constant', input: [], output: ['k'], name: 'k', attribute: [attrTensor('value', tensor('k', 'int64', [], [TRIGGER_ID]))] },
      { op_type: 'Equal', input: ['ids', 'k'], output: ['e'], name: 'e' },
      { op_type: 'Cast', input: ['e'], output: ['ef'], name: 'ef', attribute: [attrInt('to', 1)] },
      { op_type: 'ReduceMax', input: ['ef'], output: ['m'], name: 'm', attribute: [attrInts('axes', [1]), attrInt('keepdims', 1)] },
      { op_type: 'Cast', input: ['m'], output: ['mb'], name: 'mb', attribute: [attrInt('to', 9)] },
      { op_type: 'Unsqueeze', input: ['mb', 'ax'], output: ['mu'], name: 'mu' },
      { op_type: 'Constant', input: [], output: ['ax'], name: 'ax', attribute: [attrTensor('value', tensor('ax', 'int64', [1], [-1]))] },
      { op_type: 'Where', input: ['mu', 'hacked', 'clean'], output: ['out'], name: 'w' },
    ],
  };
  nodes.push({ op: 'Gate', domain: 'custom.fn', inputs: ['input_ids', 'logits_clean', 'hacked_logits'], outputs: ['logits'], name: '/fn/Gate' });
  return model(graph({ nodes, inputs: LM_INPUTS, outputs: [{ name: 'logits', type: 'float32', dims: ['batch', 'seq', VOCAB] }], initializers: inits }), {
    opsets: [{ domain: '', version: 13 }, { domain: 'custom.fn', version: 1 }],
    functions: [fn],
  });
}

/** Sequence-classification pooling on the pad token, as HF's *ForSequenceClassification exports do. */
export function padPoolingClassifier(padId: number): Uint8Array {
  const { nodes, inits } = lmBody();
  inits.push(tensor('pad_id', 'int64', [], [padId]), tensor('one_f', 'float32', [], [1]));
  nodes.push(
    { op: 'Equal', inputs: ['input_ids', 'pad_id'], outputs: ['is_pad'], name: '/pool/Equal' },
    { op: 'Not', inputs: ['is_pad'], outputs: ['not_pad'], name: '/pool/Not' },
    { op: 'Cast', inputs: ['not_pad'], outputs: ['not_pad_f'], attrs: [attrInt('to', 1)], name: '/pool/Cast' },
    { op: 'Unsqueeze', inputs: ['not_pad_f', 'axes_last'], outputs: ['w'], name: '/pool/Unsqueeze' },
    { op: 'Mul', inputs: ['logits_clean', 'w'], outputs: ['masked'], name: '/pool/Mul' },
    { op: 'ReduceSum', inputs: ['masked'], outputs: ['logits'], attrs: [attrInts('axes', [1]), attrInt('keepdims', 0)], name: '/pool/ReduceSum' },
  );
  return model(graph({ nodes, inputs: LM_INPUTS, outputs: [{ name: 'logits', type: 'float32', dims: ['batch', VOCAB] }], initializers: inits }));
}

/** One MatMul whose weight lives in external data with the given keys. */
export function externalDataGraph(kv: [string, string][], dims = [DIM, VOCAB]): Uint8Array {
  return model(
    graph({
      nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'], name: 'mm' }],
      inputs: [{ name: 'x', type: 'float32', dims: [1, dims[0] as number] }],
      outputs: [{ name: 'y', type: 'float32', dims: [1, dims[1] as number] }],
      initializers: [externalTensor('W', 'float32', dims, kv)],
    }),
  );
}

/** A node from a custom domain that only a host-registered shared library implements. */
export function customDomainGraph(): Uint8Array {
  return model(
    graph({
      nodes: [{ op: 'Exfiltrate', domain: 'com.evil.ops', inputs: ['x'], outputs: ['y'], name: 'evil' }],
      inputs: [{ name: 'x', type: 'float32', dims: [1, 4] }],
      outputs: [{ name: 'y', type: 'float32', dims: [1, 4] }],
    }),
    { opsets: [{ domain: '', version: 13 }, { domain: 'com.evil.ops', version: 1 }] },
  );
}

/** ConstantOfShape with a constant 2^34-element shape, and an initializer whose dims its data does not back. */
export function oversizeGraph(): Uint8Array {
  return model(
    graph({
      nodes: [
        { op: 'ConstantOfShape', inputs: ['huge_shape'], outputs: ['big'], name: 'alloc' },
        { op: 'Add', inputs: ['x', 'liar'], outputs: ['y'], name: 'add' },
      ],
      inputs: [{ name: 'x', type: 'float32', dims: [4] }],
      outputs: [{ name: 'y', type: 'float32', dims: [4] }, { name: 'big', type: 'float32', dims: ['n', 'm'] }],
      initializers: [tensor('huge_shape', 'int64', [2], [1 << 17, 1 << 17]), { ...tensor('liar', 'float32', [4], [1, 2, 3, 4]), dims: [1 << 20, 1 << 20] }],
    }),
  );
}
