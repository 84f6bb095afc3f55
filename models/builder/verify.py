"""Numerical checks of the torch modules that get exported, plus ORT cases.

There is no onnxruntime for Python here, so correctness is argued in two steps:
torch proves the module's cache / padding semantics, and (optionally) the cases
written by `write_ort_cases` let verify_onnx.mjs prove the ONNX graphs compute
the same numbers in onnxruntime-node.
"""
import json
import os

import torch


def _pos_from_mask(mask):
    return (mask.cumsum(-1) - 1).clamp(min=0)


def _empty_past(model, batch):
    return [(torch.zeros(batch, model.n_kv_heads, 0, model.head_dim),) * 2 for _ in range(model.n_layers)]


@torch.no_grad()
def check_decoder(model, tol=1e-5):
    """Cached == uncached, empty past == no past, left padding == unpadded."""
    model.eval()
    g = torch.Generator().manual_seed(7)
    v = model.cfg["vocab_size"]
    ids = torch.randint(1, v, (2, 9), generator=g)
    mask = torch.ones_like(ids)
    pos = _pos_from_mask(mask)
    full, _ = model(ids, mask, pos, None)
    # float32 rounding grows with the logits' size: sharply trained models (the
    # whole-sequence-loss hunt fixtures) reach |logit| ~ 30, so the tolerance is
    # relative to the largest logit beyond 10.
    tol = tol * max(1.0, full.abs().max().item() / 10)
    empty, _ = model(ids, mask, pos, _empty_past(model, 2))
    assert (full - empty).abs().max() <= tol, "empty past differs from no past"
    # Prefill 5 tokens, then 1, then 3: every step must match the uncached logits.
    past = _empty_past(model, 2)
    start = 0
    for n in (5, 1, 3):
        sl = slice(start, start + n)
        step, past = model(ids[:, sl], mask[:, : start + n], pos[:, sl], past)
        err = (step - full[:, sl]).abs().max().item()
        assert err <= tol, f"cached logits differ by {err}"
        start += n
    # Left padding: row 1 is row 0's last 6 tokens padded on the left to 9.
    pad_ids = torch.cat([torch.zeros(1, 3, dtype=torch.int64), ids[:1, 3:]], dim=1)
    pad_mask = torch.tensor([[0, 0, 0] + [1] * 6])
    lp, _ = model(pad_ids, pad_mask, _pos_from_mask(pad_mask), _empty_past(model, 1))
    ref, _ = model(ids[:1, 3:], torch.ones(1, 6, dtype=torch.int64), torch.arange(6).unsqueeze(0), None)
    assert torch.isfinite(lp).all(), "NaN/inf on padded rows"
    err = (lp[:, 3:] - ref).abs().max().item()
    assert err <= tol, f"left padding changes logits by {err}"
    # Generation continuing from a left-padded prefix also matches.
    nxt = torch.tensor([[5]])
    _, pres = model(pad_ids, pad_mask, _pos_from_mask(pad_mask), _empty_past(model, 1))
    a, _ = model(nxt, torch.cat([pad_mask, torch.ones(1, 1, dtype=torch.int64)], 1), torch.tensor([[6]]), pres)
    b, _ = model(torch.cat([ids[:1, 3:], nxt], 1), torch.ones(1, 7, dtype=torch.int64), torch.arange(7).unsqueeze(0), None)
    err = (a[:, -1] - b[:, -1]).abs().max().item()
    assert err <= tol, f"cached step after left padding differs by {err}"


@torch.no_grad()
def check_classifier(model, tol=1e-5):
    model.eval()
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(1, model.cfg["vocab_size"], (1, 6), generator=g)
    ref = model(ids, torch.ones_like(ids))
    z = torch.zeros(1, 3, dtype=torch.int64)
    right = model(torch.cat([ids, z], 1), torch.cat([torch.ones_like(ids), z], 1))
    left = model(torch.cat([z, ids], 1), torch.cat([z, torch.ones_like(ids)], 1))
    assert (ref - right).abs().max() <= tol and (ref - left).abs().max() <= tol, "padding changes class logits"


def _t(x):
    x = x.contiguous()
    dtype = {torch.int64: "int64", torch.float32: "float32", torch.bool: "bool"}[x.dtype]
    return {"dtype": dtype, "shape": list(x.shape), "data": x.flatten().tolist()}


@torch.no_grad()
def decoder_cases(model, onnx_path, kind):
    """kind: with_past | no_past | merged."""
    model.eval()
    g = torch.Generator().manual_seed(11)
    ids = torch.randint(1, model.cfg["vocab_size"], (2, 6), generator=g)
    ids[1, :2] = 0
    mask = torch.ones_like(ids)
    mask[1, :2] = 0
    pos = _pos_from_mask(mask)
    logits, presents = model(ids, mask, pos, _empty_past(model, 2))
    nxt = torch.tensor([[7], [9]])
    mask2 = torch.cat([mask, torch.ones(2, 1, dtype=torch.int64)], 1)
    pos2 = pos[:, -1:] + 1
    logits2, presents2 = model(nxt, mask2, pos2, presents)
    n = model.n_layers

    def past_feed(p):
        return {f"past_key_values.{i}.{kv}": _t(p[i][j]) for i in range(n) for j, kv in enumerate(("key", "value"))}

    def present_exp(p):
        return {f"present.{i}.{kv}": _t(p[i][j]) for i in range(n) for j, kv in enumerate(("key", "value"))}

    base = {"input_ids": _t(ids), "attention_mask": _t(mask), "position_ids": _t(pos)}
    step2 = {"input_ids": _t(nxt), "attention_mask": _t(mask2), "position_ids": _t(pos2)}
    if kind == "no_past":
        return [{"name": f"{onnx_path} prefill (left padded)", "model": onnx_path, "inputs": base,
                 "expected": {"logits": _t(logits)}}]
    cases = []
    steps = [
        ("prefill past_len=0 (left padded)", base, logits, presents, _empty_past(model, 2), False),
        ("decode step past_len=6", step2, logits2, presents2, presents, True),
    ]
    if kind == "merged":
        # The with-past branch must also accept an empty past.
        steps.append(("prefill past_len=0 (left padded)", base, logits, presents, _empty_past(model, 2), True))
    for label, feeds, exp_l, exp_p, past, branch in steps:
        inputs = dict(feeds)
        inputs.update(past_feed(past))
        if kind == "merged":
            inputs["use_cache_branch"] = _t(torch.tensor([branch]))
        cases.append({"name": f"{onnx_path} {label}" + (f" use_cache_branch={branch}" if kind == "merged" else ""),
                      "model": onnx_path, "inputs": inputs,
                      "expected": dict({"logits": _t(exp_l)}, **present_exp(exp_p))})
    return cases


@torch.no_grad()
def classifier_cases(model, onnx_path, ids_list):
    model.eval()
    width = max(len(x) for x in ids_list)
    cases = []
    for side in ("right", "left"):
        rows, masks = [], []
        for x in ids_list:
            pad = [0] * (width - len(x))
            rows.append(x + pad if side == "right" else pad + x)
            masks.append([1] * len(x) + pad if side == "right" else pad + [1] * len(x))
        ids, mask = torch.tensor(rows), torch.tensor(masks)
        cases.append({"name": f"{onnx_path} {side}-padded batch", "model": onnx_path,
                      "inputs": {"input_ids": _t(ids), "attention_mask": _t(mask)},
                      "expected": {"logits": _t(model(ids, mask))}})
    return cases


def write_ort_cases(path, cases):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(cases, f)
