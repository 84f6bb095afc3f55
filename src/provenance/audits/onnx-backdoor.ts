import { finding } from '../../formats/finding.js';
import type { Finding } from '../../formats/finding.js';
import { type Msg, arr, constantNodeValues, str, strs, tensorValues } from '../../formats/onnx-proto.js';

/**
 * Static check for graph-level backdoors of the ShadowLogic kind: logic written into the ONNX
 * graph itself that compares the token ids with constants and, when they match, switches the
 * logits or hidden states. No weights are involved, so weight-level scans miss it, and it fires
 * only on the trigger, so behavioural scans must guess it.
 *
 * The check is a forward taint analysis over the whole graph (control-flow bodies and model-local
 * functions included, functions inlined per call). Each tensor can carry these marks:
 *
 *   T  token values: `input_ids` and what keeps its values: Cast, Reshape, Squeeze/Unsqueeze,
 *      Flatten, Identity, Transpose, Expand, Tile, Slice, Gather/GatherElements/GatherND (from
 *      the ids), Split, Concat, Pad, ReduceMax/Min, and arithmetic with constants (ids - k).
 *   K  constant: initializers, Constant nodes, and anything computed only from constants.
 *   C  token condition: a comparison (Equal, Greater, Less, GreaterOrEqual, LessOrEqual) of a T
 *      tensor with a K tensor, and everything computed from it that is not an activation
 *      (Not/And/Or, Cast, reductions such as ReduceMax/ReduceSum, Where over constants, mask
 *      arithmetic, lookups indexed by it...). Shape and Size stop it (shapes carry no token values).
 *   H  activations: the output of any op that consumes T other than as a value op or comparison
 *      (the embedding Gather, ORT's EmbedLayerNormalization), and everything downstream.
 *
 * A finding is raised where C meets H: `Where` with a C condition selecting an H operand, `If` or
 * `Loop` whose condition/trip count is C, an arithmetic op (Mul/Add/Sub/Div/Max/Min/Pow/Sum/Mod)
 * mixing C with H, or a Gather-like op selecting H by C indices. Sinks whose result never reaches
 * a graph output are reported at low severity (dead code).
 *
 * Why normal exports stay quiet: attention masks come from `attention_mask`, and causal masks
 * from Range/Shape; neither is T, so their Equal/Where/Mul are not C. Optimum's merged decoders
 * branch on the `use_cache_branch` input, not on token values. The embedding lookup turns T
 * into H without a comparison. Comparisons with token ids that config.json declares (pad, eos,
 * bos, image token...) are what sequence-classification pooling, RoBERTa position ids and
 * multimodal merges do; they are reported separately at medium
 * (`onnx.special-token-conditioned`), naming the config key.
 *
 * Known gaps: triggers encoded without a comparison (OneHot of the ids, a lookup table indexed by
 * the ids, float tricks like (ids - k)^2 < eps over a non-constant), comparisons between ids and
 * values computed from non-constant inputs, and custom-op or ORT-fused kernels whose insides are
 * not visible in the graph.
 */

const ID_INPUT = /input_ids|^(ids|tokens|token_ids)$/i;

const VALUE_OPS = new Set([
  'Cast', 'CastLike', 'Reshape', 'Squeeze', 'Unsqueeze', 'Flatten', 'Identity', 'Transpose', 'Expand', 'Tile', 'Slice',
  'Gather', 'GatherElements', 'GatherND', 'Split', 'Concat', 'Pad', 'ReduceMax', 'ReduceMin', 'Compress', 'Where',
  'Abs', 'Neg', 'Add', 'Sub', 'Mul', 'Div', 'Mod', 'BitShift', 'Max', 'Min', 'Clip', 'Sum', 'Sign',
]);
/** For these, only the data input (index 0) carries values; the rest are shapes/indices/axes. */
const DATA_INPUT_ONLY = new Set(['Reshape', 'Squeeze', 'Unsqueeze', 'Expand', 'Tile', 'Slice', 'Gather', 'GatherElements', 'GatherND', 'Pad', 'Compress', 'ReduceMax', 'ReduceMin', 'Split', 'Clip', 'CastLike']);
const VALUE_KEEPING = new Set(['Cast', 'Reshape', 'Squeeze', 'Unsqueeze', 'Flatten', 'Identity', 'Expand']);
const COMPARE_OPS = new Set(['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual']);
const SHAPE_ONLY = new Set(['Shape', 'Size']);
const ARITH_SINKS = new Set(['Mul', 'Add', 'Sub', 'Div', 'Max', 'Min', 'Pow', 'Sum', 'Mod']);
const GATHER_OPS = new Set(['Gather', 'GatherElements', 'GatherND']);

interface FlowNode {
  opType: string;
  domain: string;
  display: string;
  inputs: string[];
  outputs: string[];
  /** Synthetic edges between a control-flow node and its bodies. */
  link: boolean;
}

interface Flattened {
  nodes: FlowNode[];
  constants: Map<string, number[] | undefined>;
  mainInputs: string[];
  mainOutputs: string[];
}

/** Flatten the model to one node list with name edges, bodies linked to their parents, functions inlined. */
function flatten(model: Msg): Flattened {
  const nodes: FlowNode[] = [];
  const constants = new Map<string, number[] | undefined>();
  const functions = new Map<string, Msg>();
  for (const f of arr(model.functions)) functions.set(`${str(f.domain)}::${str(f.name)}`, f);
  let callId = 0;

  const addNodes = (list: Msg[], rename: (n: string) => string, depth: number, prefix: string): void => {
    for (const n of list) {
      const op = str(n.op_type);
      const domain = str(n.domain);
      const ins = strs(n.input).map((x) => (x === '' ? '' : rename(x)));
      const outs = strs(n.output).map((x) => (x === '' ? '' : rename(x)));
      const display = `${prefix}${str(n.name) || `${op}#${nodes.length}`}`;
      const fn = functions.get(`${domain}::${op}`);
      if (fn && depth < 8) {
        // Inline: formal inputs/outputs map to the call's names, the rest get a private prefix.
        const id = `__call${callId++}`;
        const map = new Map<string, string>();
        strs(fn.input).forEach((f, i) => map.set(f, ins[i] ?? ''));
        strs(fn.output).forEach((f, i) => map.set(f, outs[i] ?? ''));
        addNodes(arr(fn.node), (x) => map.get(x) ?? `${id}/${x}`, depth + 1, `${display}/`);
        continue;
      }
      if (op === 'Constant' && outs[0]) constants.set(outs[0], constantNodeValues(n));
      nodes.push({ opType: op, domain, display, inputs: ins, outputs: outs, link: false });
      for (const a of arr(n.attribute)) {
        const subs = [...(a.g ? [a.g as Msg] : []), ...arr(a.graphs)];
        for (const g of subs) {
          for (const t of arr(g.initializer)) constants.set(rename(str(t.name)), tensorValues(t));
          const gIns = arr(g.input).map((v) => rename(str(v.name)));
          const gOuts = arr(g.output).map((v) => rename(str(v.name)));
          nodes.push({ opType: '__enter', domain: '', display, inputs: ins.filter(Boolean), outputs: gIns, link: true });
          addNodes(arr(g.node), rename, depth + 1, `${display}/`);
          nodes.push({ opType: '__exit', domain: '', display, inputs: gOuts, outputs: outs.filter(Boolean), link: true });
        }
      }
    }
  };
  const g = (model.graph ?? {}) as Msg;
  for (const t of arr(g.initializer)) constants.set(str(t.name), tensorValues(t));
  addNodes(arr(g.node), (x) => x, 0, '');
  const inits = new Set(arr(g.initializer).map((t) => str(t.name)));
  return {
    nodes,
    constants,
    mainInputs: arr(g.input).map((v) => str(v.name)).filter((n) => !inits.has(n)),
    mainOutputs: arr(g.output).map((v) => str(v.name)),
  };
}

export interface BackdoorOptions {
  file: string;
  /** Token ids declared in config.json (pad/eos/bos/…), id → the key that declares it. */
  specialTokenIds?: ReadonlyMap<number, string>;
  /** Token text for an id, for messages. */
  tokenText?: (id: number) => string | undefined;
}

interface Sink {
  node: FlowNode;
  origins: Set<number>;
  live: boolean;
}

export function findInputConditionedBranches(model: Msg, opts: BackdoorOptions): Finding[] {
  const { nodes, constants, mainInputs, mainOutputs } = flatten(model);
  const T = new Set<string>(mainInputs.filter((n) => ID_INPUT.test(n) && !/token_type/i.test(n)));
  if (T.size === 0) return [];
  const K = new Set<string>(constants.keys());
  const H = new Set<string>();
  /** C tensors → indices of the comparison nodes they come from. */
  const C = new Map<string, Set<number>>();
  const compares = new Map<number, { node: FlowNode; values: number[] | undefined }>();
  const sinks = new Map<number, Sink>();

  const addC = (name: string, origins: Iterable<number>): boolean => {
    if (!name) return false;
    let s = C.get(name);
    let changed = false;
    if (!s) {
      s = new Set();
      C.set(name, s);
      changed = true;
    }
    for (const o of origins) {
      if (!s.has(o) && s.size < 16) {
        s.add(o);
        changed = true;
      }
    }
    return changed;
  };
  const addTo = (set: Set<string>, name: string): boolean => {
    if (!name || set.has(name)) return false;
    set.add(name);
    return true;
  };

  for (let pass = 0, changed = true; changed && pass < 64; pass++) {
    changed = false;
    nodes.forEach((n, idx) => {
      const ins = n.inputs.filter(Boolean);
      const outs = n.outputs.filter(Boolean);
      if (n.link) {
        // Control-flow edges carry every mark.
        const anyH = ins.some((i) => H.has(i));
        const anyT = ins.some((i) => T.has(i));
        const origins = ins.flatMap((i) => [...(C.get(i) ?? [])]);
        const anyC = ins.some((i) => C.has(i));
        for (const o of outs) {
          if (anyH) changed = addTo(H, o) || changed;
          if (anyT) changed = addTo(T, o) || changed;
          if (anyC) changed = addC(o, origins) || changed;
          if (ins.length > 0 && ins.every((i) => K.has(i))) changed = addTo(K, o) || changed;
        }
        return;
      }
      const op = n.opType;
      const std = n.domain === '' || n.domain === 'ai.onnx';
      if (ins.length === 0 || ins.every((i) => K.has(i))) {
        for (const o of outs) changed = addTo(K, o) || changed;
        // Keep the values of constants that only change shape or type (Cast(Constant) etc.).
        if (VALUE_KEEPING.has(op) && outs[0] && !constants.has(outs[0]) && constants.get(n.inputs[0] ?? '') !== undefined) constants.set(outs[0], constants.get(n.inputs[0] ?? ''));
        return;
      }
      if (std && SHAPE_ONLY.has(op)) return;
      const x0 = n.inputs[0] ?? '';

      const hIn = ins.some((i) => H.has(i));
      const tIn = ins.some((i) => T.has(i));
      const cIns = ins.filter((i) => C.has(i) && !H.has(i));

      // Sinks: a token condition meeting activations.
      if (hIn && cIns.length > 0) {
        let sinkOrigins: number[] = [];
        if (std && op === 'Where' && c0(x0).length && (H.has(n.inputs[1] ?? '') || H.has(n.inputs[2] ?? ''))) sinkOrigins = c0(x0);
        else if (std && ARITH_SINKS.has(op)) sinkOrigins = cIns.flatMap((i) => [...(C.get(i) as Set<number>)]);
        else if (std && GATHER_OPS.has(op) && H.has(x0)) sinkOrigins = c0(n.inputs[1]);
        if (sinkOrigins.length && !sinks.has(idx)) {
          sinks.set(idx, { node: n, origins: new Set(sinkOrigins), live: false });
          changed = true;
        }
      }
      if (std && (op === 'If' || op === 'Loop')) {
        const cond = op === 'If' ? c0(x0) : [...c0(x0), ...c0(n.inputs[1])];
        if (cond.length && !sinks.has(idx)) {
          sinks.set(idx, { node: n, origins: new Set(cond), live: false });
          changed = true;
        }
      }

      // T: token values through value ops.
      let tOut = false;
      let tAsIndex = false;
      if (std && VALUE_OPS.has(op) && tIn) {
        if (DATA_INPUT_ONLY.has(op)) {
          tOut = T.has(x0);
          tAsIndex = GATHER_OPS.has(op) && !tOut && T.has(n.inputs[1] ?? '');
        } else if (op === 'Where') {
          const xy = [n.inputs[1] ?? '', n.inputs[2] ?? ''];
          tOut = xy.some((i) => T.has(i)) && xy.every((i) => T.has(i) || K.has(i));
        } else if (op === 'Concat') {
          tOut = true;
        } else {
          tOut = ins.every((i) => T.has(i) || K.has(i));
        }
      }
      const tOnlyAsShape = std && DATA_INPUT_ONLY.has(op) && !GATHER_OPS.has(op) && !T.has(x0);
      const tToActivation = tIn && !tOut && !(std && COMPARE_OPS.has(op)) && !tOnlyAsShape;

      if (hIn || tAsIndex || tToActivation) {
        for (const o of outs) changed = addTo(H, o) || changed;
        return;
      }
      if (tOut) for (const o of outs) changed = addTo(T, o) || changed;

      // Comparisons of ids with constants create conditions.
      if (std && COMPARE_OPS.has(op)) {
        const [a, b] = [x0, n.inputs[1] ?? ''];
        const constSide = T.has(a) && K.has(b) ? b : T.has(b) && K.has(a) ? a : undefined;
        if (constSide !== undefined) {
          compares.set(idx, { node: n, values: constants.get(constSide) });
          for (const o of outs) changed = addC(o, [idx]) || changed;
          return;
        }
      }
      if (cIns.length > 0) {
        const origins = cIns.flatMap((i) => [...(C.get(i) as Set<number>)]);
        for (const o of outs) changed = addC(o, origins) || changed;
      }
    });
  }

  function c0(name: string | undefined): number[] {
    return name && C.has(name) ? [...(C.get(name) as Set<number>)] : [];
  }

  if (sinks.size === 0) return [];

  // Which sinks reach a graph output.
  const producers = new Map<string, number[]>();
  nodes.forEach((n, i) => {
    for (const o of n.outputs) if (o) producers.set(o, [...(producers.get(o) ?? []), i]);
  });
  const live = new Set<number>();
  const stack = mainOutputs.flatMap((o) => producers.get(o) ?? []);
  while (stack.length) {
    const i = stack.pop() as number;
    if (live.has(i)) continue;
    live.add(i);
    for (const inp of (nodes[i] as FlowNode).inputs) for (const p of producers.get(inp) ?? []) if (!live.has(p)) stack.push(p);
  }
  for (const [i, s] of sinks) s.live = live.has(i);

  // Group: conditions on declared special tokens vs anything else.
  const special = opts.specialTokenIds ?? new Map<number, string>();
  const isSpecial = (o: number): boolean => {
    const v = compares.get(o)?.values;
    return v !== undefined && v.length > 0 && v.every((x) => special.has(x));
  };
  const describe = (o: number): string => {
    const c = compares.get(o);
    if (!c) return '?';
    const vals = c.values === undefined ? 'a constant' : c.values.length === 0 ? 'an empty constant' : c.values.slice(0, 8).map((v) => {
      const key = special.get(v);
      const text = opts.tokenText?.(v);
      return `${v}${text !== undefined ? ` ${JSON.stringify(text)}` : ''}${key ? ` (${key})` : ''}`;
    }).join(', ') + (c.values.length > 8 ? ', …' : '');
    return `${c.node.opType} ${JSON.stringify(c.node.display)} against ${vals}`;
  };

  const findings: Finding[] = [];
  const groups: { sinks: Sink[]; kind: 'plain' | 'special' | 'dead' }[] = [
    { sinks: [...sinks.values()].filter((s) => s.live && ![...s.origins].every(isSpecial)), kind: 'plain' },
    { sinks: [...sinks.values()].filter((s) => s.live && [...s.origins].every(isSpecial)), kind: 'special' },
    { sinks: [...sinks.values()].filter((s) => !s.live), kind: 'dead' },
  ];
  for (const g of groups) {
    if (g.sinks.length === 0) continue;
    const origins = [...new Set(g.sinks.flatMap((s) => [...s.origins]))];
    const sinkNames = g.sinks.map((s) => `${s.node.opType} ${JSON.stringify(s.node.display)}`);
    const detail = {
      sinks: g.sinks.slice(0, 20).map((s) => ({ op: s.node.opType, name: s.node.display })),
      comparisons: origins.slice(0, 20).map((o) => ({ op: compares.get(o)?.node.opType, name: compares.get(o)?.node.display, values: compares.get(o)?.values?.slice(0, 16) })),
    };
    const what = `${sinkNames.slice(0, 3).join(', ')}${sinkNames.length > 3 ? ` and ${sinkNames.length - 3} more` : ''}`;
    const cmp = `${origins.slice(0, 2).map(describe).join('; ')}${origins.length > 2 ? `; and ${origins.length - 2} more comparisons` : ''}`;
    if (g.kind === 'plain') {
      findings.push(finding('onnx.input-conditioned-branch', 'high', opts.file, `${opts.file}: graph switches activations on the token ids (ShadowLogic-style backdoor): ${what} is driven by ${cmp}`, detail));
    } else if (g.kind === 'special') {
      findings.push(finding('onnx.special-token-conditioned', 'medium', opts.file, `${opts.file}: activations depend on comparing the token ids with ids config.json declares (usual for padding/pooling/multimodal merges; check it): ${what} driven by ${cmp}`, detail));
    } else {
      findings.push(finding('onnx.input-conditioned-branch', 'low', opts.file, `${opts.file}: token-id comparison meets activations in ${what} (driven by ${cmp}), but the result reaches no graph output`, { ...detail, dead: true }));
    }
  }
  return findings;
}
