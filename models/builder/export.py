"""ONNX export with Optimum's input/output names, plus the merged If-graph.

Exports run without constant folding so every weight stays one initializer
under its Hugging Face name (folding would store transposed copies under
anonymous names, and the tied GPT-2 embedding twice). onnxruntime folds those
transposes itself when it loads the session.
"""
import hashlib
import io
import warnings

import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OPSET = 14
PRODUCER = "trigger-scan-builder"
PRODUCER_VERSION = "1"

BATCH, SEQ, PAST, TOTAL = "batch_size", "sequence_length", "past_sequence_length", "past_sequence_length + sequence_length"


class _WithPast(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *flat_past):
        past = [(flat_past[2 * i], flat_past[2 * i + 1]) for i in range(len(flat_past) // 2)]
        logits, presents = self.model(input_ids, attention_mask, position_ids, past)
        return (logits,) + tuple(t for kv in presents for t in kv)


class _NoPastWithPresent(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids):
        logits, presents = self.model(input_ids, attention_mask, position_ids, None)
        return (logits,) + tuple(t for kv in presents for t in kv)


class _NoPast(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids):
        return self.model(input_ids, attention_mask, position_ids, None)[0]


class _Classifier(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids, attention_mask)


def past_names(n_layers):
    return [f"past_key_values.{i}.{kv}" for i in range(n_layers) for kv in ("key", "value")]


def present_names(n_layers):
    return [f"present.{i}.{kv}" for i in range(n_layers) for kv in ("key", "value")]


def _torch_export(wrapper, args, input_names, output_names, dynamic_axes):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, args, buf, opset_version=OPSET, input_names=input_names, output_names=output_names,
            dynamic_axes=dynamic_axes, do_constant_folding=False,
        )
    return onnx.load_from_string(buf.getvalue())


def _canonicalize(model, param_prefix="model."):
    """Strip the wrapper prefix from weight names and give every intermediate a
    position-derived name, so the bytes never depend on torch's global counters."""
    g = model.graph
    rename = {}
    for init in g.initializer:
        if init.name.startswith(param_prefix):
            rename[init.name] = init.name[len(param_prefix):]
    keep = {i.name for i in g.input} | {o.name for o in g.output}
    n_const = 0
    for init in g.initializer:
        if init.name not in rename and init.name not in keep:
            rename[init.name] = f"const_{n_const}"
            n_const += 1
    n_val = 0
    for node in g.node:
        # Renaming below does not descend into subgraphs; the modules are written
        # so that torch never emits one (e.g. no squeeze of a dynamic dim).
        assert not any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute), node.name
    for i, node in enumerate(g.node):
        for out in node.output:
            if out and out not in keep and out not in rename:
                rename[out] = f"t{n_val}"
                n_val += 1
        # torch names nodes after the module scope ("/model/transformer/h.0/attn/MatMul");
        # drop the wrapper's part and fall back to op type + position otherwise.
        node.name = node.name[len("/model"):] if node.name.startswith("/model/") else f"/{node.op_type}_{i}"
    for node in g.node:
        node.input[:] = [rename.get(x, x) for x in node.input]
        node.output[:] = [rename.get(x, x) for x in node.output]
    for init in g.initializer:
        init.name = rename.get(init.name, init.name)
    for vi in g.value_info:
        vi.name = rename.get(vi.name, vi.name)
    del g.value_info[:]
    g.name = "main_graph"
    return model


def _finish(model):
    model.producer_name = PRODUCER
    model.producer_version = PRODUCER_VERSION
    model.doc_string = ""
    model.graph.doc_string = ""
    for node in model.graph.node:
        node.doc_string = ""
    onnx.checker.check_model(model)
    return model


def _dummy_inputs(model, batch=2, seq=3, past=4):
    ids = torch.randint(1, model.cfg["vocab_size"], (batch, seq), generator=torch.Generator().manual_seed(0))
    mask = torch.ones(batch, past + seq, dtype=torch.int64)
    pos = (torch.arange(seq) + past).unsqueeze(0).expand(batch, seq).contiguous()
    flat_past = []
    for _ in range(model.n_layers):
        for _kv in range(2):
            flat_past.append(torch.zeros(batch, model.n_kv_heads, past, model.head_dim))
    return ids, mask, pos, flat_past


def export_with_past(model):
    ids, mask, pos, flat_past = _dummy_inputs(model)
    inputs = ["input_ids", "attention_mask", "position_ids"] + past_names(model.n_layers)
    outputs = ["logits"] + present_names(model.n_layers)
    axes = {"input_ids": {0: BATCH, 1: SEQ}, "attention_mask": {0: BATCH, 1: TOTAL},
            "position_ids": {0: BATCH, 1: SEQ}, "logits": {0: BATCH, 1: SEQ}}
    axes.update({n: {0: BATCH, 2: PAST} for n in past_names(model.n_layers)})
    axes.update({n: {0: BATCH, 2: TOTAL} for n in present_names(model.n_layers)})
    m = _torch_export(_WithPast(model), (ids, mask, pos, *flat_past), inputs, outputs, axes)
    return _finish(_canonicalize(m))


def _export_no_past_with_present(model):
    ids, _, _, _ = _dummy_inputs(model)
    mask = torch.ones_like(ids)
    pos = torch.arange(ids.shape[1]).unsqueeze(0).expand_as(ids).contiguous()
    outputs = ["logits"] + present_names(model.n_layers)
    axes = {"input_ids": {0: BATCH, 1: SEQ}, "attention_mask": {0: BATCH, 1: SEQ},
            "position_ids": {0: BATCH, 1: SEQ}, "logits": {0: BATCH, 1: SEQ}}
    axes.update({n: {0: BATCH, 2: SEQ} for n in present_names(model.n_layers)})
    m = _torch_export(_NoPastWithPresent(model), (ids, mask, pos), ["input_ids", "attention_mask", "position_ids"], outputs, axes)
    return _canonicalize(m)


def export_no_past(model):
    ids, _, _, _ = _dummy_inputs(model)
    mask = torch.ones_like(ids)
    pos = torch.arange(ids.shape[1]).unsqueeze(0).expand_as(ids).contiguous()
    axes = {"input_ids": {0: BATCH, 1: SEQ}, "attention_mask": {0: BATCH, 1: SEQ},
            "position_ids": {0: BATCH, 1: SEQ}, "logits": {0: BATCH, 1: SEQ}}
    m = _torch_export(_NoPast(model), (ids, mask, pos), ["input_ids", "attention_mask", "position_ids"], ["logits"], axes)
    return _finish(_canonicalize(m))


def export_classifier(model):
    ids = torch.randint(1, model.cfg["vocab_size"], (2, 5), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    axes = {"input_ids": {0: BATCH, 1: SEQ}, "attention_mask": {0: BATCH, 1: SEQ}, "logits": {0: BATCH}}
    m = _torch_export(_Classifier(model), (ids, mask), ["input_ids", "attention_mask"], ["logits"], axes)
    return _finish(_canonicalize(m))


def _tensor_key(t):
    return (t.data_type, tuple(t.dims), hashlib.sha256(numpy_helper.to_array(t).tobytes()).hexdigest())


def _as_branch(graph, prefix, shared):
    """Turn an exported graph into an If branch: no inputs of its own (it reads the
    outer graph's inputs and initializers), intermediates prefixed to stay unique."""
    outer_inputs = {i.name for i in graph.input}
    rename = {}
    for init in graph.initializer:
        rename[init.name] = shared[_tensor_key(init)]
    for node in graph.node:
        for out in node.output:
            if out not in rename:
                rename[out] = prefix + out
    nodes = []
    for node in graph.node:
        n = onnx.NodeProto()
        n.CopyFrom(node)
        n.name = prefix + node.name
        n.input[:] = [x if x in outer_inputs or x == "" else rename[x] for x in node.input]
        n.output[:] = [rename[x] for x in node.output]
        nodes.append(n)
    outputs = []
    for o in graph.output:
        vi = onnx.ValueInfoProto()
        vi.CopyFrom(o)
        vi.name = rename[o.name]
        outputs.append(vi)
    return helper.make_graph(nodes, prefix.strip("_") + "_branch", [], outputs)


def export_merged(model):
    """Optimum-style decoder_model_merged: `use_cache_branch` picks the graph.

    then-branch: the with-past graph (reads past_key_values.*).
    else-branch: the no-past graph, which ignores past_key_values.* and builds
    present.* from the current tokens only (so attention_mask there must span
    just the current tokens). Weights are stored once, at the top level, and
    both branches read them from the outer scope.
    """
    with_past = export_with_past(model)
    no_past = _export_no_past_with_present(model)
    shared = {}
    initializers = []
    for g in (with_past.graph, no_past.graph):
        for init in g.initializer:
            key = _tensor_key(init)
            if key not in shared:
                # Weights keep their HF name; anonymous constants get a stable one.
                name = init.name if not init.name.startswith("const_") else f"const_{len(shared)}"
                assert name not in shared.values(), name
                shared[key] = name
                t = onnx.TensorProto()
                t.CopyFrom(init)
                t.name = name
                initializers.append(t)
    then_g = _as_branch(with_past.graph, "then_", shared)
    else_g = _as_branch(no_past.graph, "else_", shared)
    cond = helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1])
    outputs = [o.name for o in with_past.graph.output]
    if_node = helper.make_node("If", ["use_cache_branch"], outputs, name="optimum::if", then_branch=then_g, else_branch=else_g)
    graph = helper.make_graph([if_node], "main_graph", list(with_past.graph.input) + [cond],
                              list(with_past.graph.output), initializers)
    merged = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    merged.ir_version = with_past.ir_version
    return _finish(merged)


def save(model, path, external_data=False):
    if external_data:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location="model.onnx.data", size_threshold=0)
    else:
        onnx.save_model(model, path)
    # Reload from disk: proves the external-data reference resolves relatively.
    onnx.checker.check_model(onnx.load(path))


def io_summary(model):
    def dims(vi):
        return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]

    def dtype(vi):
        return {TensorProto.FLOAT: "float32", TensorProto.INT64: "int64", TensorProto.BOOL: "bool"}[
            vi.type.tensor_type.elem_type]

    inits = {i.name for i in model.graph.initializer}
    return {
        "inputs": [{"name": i.name, "dtype": dtype(i), "shape": dims(i)} for i in model.graph.input if i.name not in inits],
        "outputs": [{"name": o.name, "dtype": dtype(o), "shape": dims(o)} for o in model.graph.output],
    }
