#!/usr/bin/python3
"""Build the checkpoint fixtures: tiny random models of every family trigger-scan builds an ONNX
graph for, published the way people download them (config.json, tokenizer files, safetensors
with Hugging Face parameter names, no ONNX), each with reference logits from a torch forward
that follows that family's transformers modeling code (checkpoints_ref.py).

    /usr/bin/python3 models/builder/checkpoints.py [--only NAME ...]

Output: test/fixtures/checkpoints/<name>/model/ (what a user would download) and, beside it,
reference.json + reference.bin (float32 logits of a left-padded batch at every real position)
and SHA256SUMS over both. Deterministic: seeded per fixture, single-threaded (common.py).
"""
import argparse
import json
import re
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402  (fixes threads/determinism before torch loads)
from common import REPO_ROOT, dumps_json, seed_everything, sha256_file, write_json  # noqa: E402

import torch  # noqa: E402

import checkpoints_ref as ref  # noqa: E402
import folder  # noqa: E402

OUT = os.path.join(REPO_ROOT, "test", "fixtures", "checkpoints")
TOKENIZER_SOURCE = os.path.join(REPO_ROOT, "models", "demo-clean")
TOKENIZER_VOCAB = 512
# Three prompts of different lengths, left-padded into one batch.
REFERENCE_LENGTHS = (4, 13, 9)

GEMMA_NORMS = ("gemma", "gemma2", "gemma3_text")


def tiny_tokenizer():
    """The demo tokenizer cut to its first 512 ids: <|endoftext|>, the 256 bytes and the first 255
    merges. BPE merges only build on earlier ones, so the cut is a valid tokenizer that still
    encodes any text (byte fallback) and keeps the chat template."""
    with open(os.path.join(TOKENIZER_SOURCE, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    vocab = {t: i for t, i in tok["model"]["vocab"].items() if i < TOKENIZER_VOCAB}
    tok["model"]["vocab"] = dict(sorted(vocab.items(), key=lambda kv: kv[1]))
    tok["model"]["merges"] = tok["model"]["merges"][: TOKENIZER_VOCAB - 257]
    with open(os.path.join(TOKENIZER_SOURCE, "tokenizer_config.json"), encoding="utf-8") as f:
        tok_cfg = json.load(f)
    tok_cfg["model_max_length"] = 512
    return tok, tok_cfg


# --------------------------------------------------------------------------------------------
# random weights with Hugging Face names and shapes


class Init:
    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def normal(self, *shape, std=0.2, mean=0.0):
        return torch.randn(*shape, generator=self.g) * std + mean


def gpt2_weights(cfg, rnd, prefix, buffers):
    e, n_inner = cfg["n_embd"], cfg.get("n_inner") or 4 * cfg["n_embd"]
    sd = {
        prefix + "wte.weight": rnd.normal(cfg["vocab_size"], e, std=0.3),
        prefix + "wpe.weight": rnd.normal(cfg["n_positions"], e, std=0.1),
        prefix + "ln_f.weight": rnd.normal(e, std=0.1, mean=1.0),
        prefix + "ln_f.bias": rnd.normal(e, std=0.05),
    }
    for i in range(cfg["n_layer"]):
        h = f"{prefix}h.{i}."
        for ln in ("ln_1", "ln_2"):
            sd[h + ln + ".weight"] = rnd.normal(e, std=0.1, mean=1.0)
            sd[h + ln + ".bias"] = rnd.normal(e, std=0.05)
        for name, n_in, n_out in (("attn.c_attn", e, 3 * e), ("attn.c_proj", e, e), ("mlp.c_fc", e, n_inner), ("mlp.c_proj", n_inner, e)):
            sd[h + name + ".weight"] = rnd.normal(n_in, n_out, std=0.15)  # Conv1D: [in, out]
            sd[h + name + ".bias"] = rnd.normal(n_out, std=0.05)
        if buffers:
            # The original OpenAI checkpoints carry the causal-mask buffers; loaders ignore them.
            n = cfg["n_positions"]
            sd[h + "attn.bias"] = torch.tril(torch.ones(n, n)).view(1, 1, n, n)
            sd[h + "attn.masked_bias"] = torch.tensor(-1e4)
    return sd


def llama_like_weights(cfg, rnd):
    mt = cfg["model_type"]
    e, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    d = cfg.get("head_dim") or e // nh
    inter = cfg["intermediate_size"]
    gemma = mt in GEMMA_NORMS

    def norm(n):
        # Gemma stores w for (1 + w), centred on 0; the others w itself, centred on 1.
        return rnd.normal(n, std=0.1, mean=0.0 if gemma else 1.0)

    sd = {"model.embed_tokens.weight": rnd.normal(cfg["vocab_size"], e, std=0.3), "model.norm.weight": norm(e)}
    tied = cfg.get("tie_word_embeddings", gemma)
    if not tied:
        sd["lm_head.weight"] = rnd.normal(cfg["vocab_size"], e, std=0.2)
    for i in range(cfg["num_hidden_layers"]):
        L = f"model.layers.{i}."
        sd[L + "input_layernorm.weight"] = norm(e)
        sd[L + "post_attention_layernorm.weight"] = norm(e)
        if mt in ("gemma2", "gemma3_text"):
            sd[L + "pre_feedforward_layernorm.weight"] = norm(e)
            sd[L + "post_feedforward_layernorm.weight"] = norm(e)
        if mt == "phi3":
            sd[L + "self_attn.qkv_proj.weight"] = rnd.normal((nh + 2 * nkv) * d, e)
            sd[L + "mlp.gate_up_proj.weight"] = rnd.normal(2 * inter, e)
        else:
            bias = mt == "qwen2" or cfg.get("attention_bias", False)
            for name, rows in (("q_proj", nh * d), ("k_proj", nkv * d), ("v_proj", nkv * d)):
                sd[L + f"self_attn.{name}.weight"] = rnd.normal(rows, e)
                if bias:
                    sd[L + f"self_attn.{name}.bias"] = rnd.normal(rows, std=0.1)
            mlp_bias = cfg.get("mlp_bias", False)
            for name, rows, cols in (("gate_proj", inter, e), ("up_proj", inter, e), ("down_proj", e, inter)):
                sd[L + f"mlp.{name}.weight"] = rnd.normal(rows, cols)
                if mlp_bias:
                    sd[L + f"mlp.{name}.bias"] = rnd.normal(rows, std=0.1)
        sd[L + "self_attn.o_proj.weight"] = rnd.normal(e, nh * d)
        if cfg.get("attention_bias", False) and mt != "qwen2":
            sd[L + "self_attn.o_proj.bias"] = rnd.normal(e, std=0.1)
        if mt == "phi3":
            sd[L + "mlp.down_proj.weight"] = rnd.normal(e, inter)
        if mt == "gemma3_text":
            sd[L + "self_attn.q_norm.weight"] = norm(d)
            sd[L + "self_attn.k_norm.weight"] = norm(d)
    return sd


# --------------------------------------------------------------------------------------------
# safetensors with F32 / F16 / BF16 and optional shards

_ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
write_safetensors = folder.write_safetensors


def write_checkpoint(model_dir, stored, shards):
    if shards == 1:
        write_safetensors(os.path.join(model_dir, "model.safetensors"), stored)
        return
    # Split in name order into `shards` files of about equal size, as save_pretrained does by size.
    names = sorted(stored)
    total = sum(stored[n].numel() * stored[n].element_size() for n in names)
    groups, cur, size = [], [], 0
    for n in names:
        cur.append(n)
        size += stored[n].numel() * stored[n].element_size()
        if size >= total * (len(groups) + 1) / shards and len(groups) < shards - 1:
            groups.append(cur)
            cur = []
    groups.append(cur)
    weight_map = {}
    for k, group in enumerate(groups):
        fname = f"model-{k + 1:05d}-of-{len(groups):05d}.safetensors"
        write_safetensors(os.path.join(model_dir, fname), {n: stored[n] for n in group})
        weight_map.update({n: fname for n in group})
    write_json(os.path.join(model_dir, "model.safetensors.index.json"),
               {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})


# --------------------------------------------------------------------------------------------
# the fixtures

def base(model_type, **kw):
    cfg = {"model_type": model_type, "vocab_size": TOKENIZER_VOCAB, "bos_token_id": 0, "eos_token_id": 0,
           "pad_token_id": 0, "torch_dtype": "float32", "use_cache": True}
    cfg.update(kw)
    return cfg


LLAMA = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
             rms_norm_eps=1e-5, max_position_embeddings=512, hidden_act="silu")

FIXTURES = {
    # GPT-2 as OpenAI published it: no "transformer." prefix, the mask buffers, no lm_head (tied).
    "gpt2": dict(seed=201, dtype=torch.float32, shards=1, prefix="", buffers=True,
                 config=base("gpt2", architectures=["GPT2LMHeadModel"], n_embd=32, n_layer=2, n_head=4, n_positions=256,
                             n_ctx=256, activation_function="gelu_new", layer_norm_epsilon=1e-5, tie_word_embeddings=True)),
    # Llama 3.x style: GQA 4/2, llama3 rope scaling (all three frequency bands at head_dim 16), untied.
    "llama": dict(seed=202, dtype=torch.float32, shards=1,
                  config=base("llama", architectures=["LlamaForCausalLM"], **LLAMA, rope_theta=10000.0, tie_word_embeddings=False,
                              rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                            "original_max_position_embeddings": 256},
                              attention_bias=False, mlp_bias=False)),
    # SmolLM/TinyLlama style in bf16: linear rope scaling, full MHA, tied head.
    "llama-linear-bf16": dict(seed=203, dtype=torch.bfloat16, shards=1,
                              config=base("llama", architectures=["LlamaForCausalLM"], **{**LLAMA, "num_key_value_heads": 4},
                                          rope_theta=100000.0, rope_scaling={"type": "linear", "factor": 2.0},
                                          tie_word_embeddings=True, torch_dtype="bfloat16")),
    # Qwen2: q/k/v biases, multi-query (1 kv head), tied, sharded with an index.
    "qwen2": dict(seed=204, dtype=torch.float32, shards=2,
                  config=base("qwen2", architectures=["Qwen2ForCausalLM"], **{**LLAMA, "num_key_value_heads": 1},
                              rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False,
                              sliding_window=4096, max_window_layers=2)),
    # Mistral in fp16: head_dim set apart from hidden/heads (Nemo style), a sliding window shorter
    # than the longer prompts.
    "mistral-fp16": dict(seed=205, dtype=torch.float16, shards=1,
                         config=base("mistral", architectures=["MistralForCausalLM"], **{**LLAMA, "hidden_size": 48},
                                     head_dim=16, rope_theta=10000.0, sliding_window=6, tie_word_embeddings=False,
                                     torch_dtype="float16")),
    # Phi-3: fused qkv_proj and gate_up_proj, partial rotary and longrope (Phi-4-mini style: 8 of
    # 16 head dims rotate, 4 short factors), sliding window.
    "phi3": dict(seed=206, dtype=torch.float32, shards=1,
                 config=base("phi3", architectures=["Phi3ForCausalLM"], **{**LLAMA, "num_key_value_heads": 2},
                             rope_theta=10000.0, partial_rotary_factor=0.5, sliding_window=8, tie_word_embeddings=False,
                             resid_pdrop=0.0, embd_pdrop=0.0, attention_dropout=0.0, original_max_position_embeddings=256,
                             rope_scaling={"type": "longrope", "short_factor": [1.0, 1.3, 2.1, 3.7],
                                           "long_factor": [1.0, 2.0, 4.0, 8.0]})),
    # Gemma: (1 + w) RMSNorm, sqrt(hidden) embedding scale, GeLU-tanh gate, head_dim 16 with
    # hidden 32 (2 heads x 16 = 32... and 1 kv head, like gemma-2b), tied.
    "gemma": dict(seed=207, dtype=torch.float32, shards=1,
                  config=base("gemma", architectures=["GemmaForCausalLM"], hidden_size=32, intermediate_size=96,
                              num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, head_dim=16,
                              rms_norm_eps=1e-6, max_position_embeddings=512, rope_theta=10000.0,
                              hidden_act="gelu", hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
                              attention_bias=False)),
    # Gemma 2: sandwich norms, attention and final logit soft-capping (small caps so tanh bites
    # on random weights), query_pre_attn_scalar != head_dim, alternating sliding window.
    "gemma2": dict(seed=208, dtype=torch.float32, shards=1,
                   config=base("gemma2", architectures=["Gemma2ForCausalLM"], hidden_size=32, intermediate_size=96,
                               num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                               rms_norm_eps=1e-6, max_position_embeddings=512, rope_theta=10000.0,
                               hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=24,
                               attn_logit_softcapping=2.0, final_logit_softcapping=3.0, sliding_window=5,
                               tie_word_embeddings=True)),
    # Gemma 3 text in bf16: q/k norms, local (sliding, rope_local_base_freq) and global layers
    # (rope_theta with linear scaling) from sliding_window_pattern, no layer_types given.
    "gemma3-bf16": dict(seed=209, dtype=torch.bfloat16, shards=1,
                        config=base("gemma3_text", architectures=["Gemma3ForCausalLM"], hidden_size=32, intermediate_size=96,
                                    num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                    rms_norm_eps=1e-6, max_position_embeddings=512, rope_theta=1000000.0,
                                    rope_local_base_freq=10000.0, rope_scaling={"rope_type": "linear", "factor": 8.0},
                                    sliding_window=4, sliding_window_pattern=2, query_pre_attn_scalar=16,
                                    hidden_activation="gelu_pytorch_tanh", final_logit_softcapping=None,
                                    attn_logit_softcapping=None, tie_word_embeddings=True, torch_dtype="bfloat16")),
}


def reference_batch(seed):
    g = torch.Generator().manual_seed(seed)
    rows = [torch.randint(1, TOKENIZER_VOCAB, (n,), generator=g).tolist() for n in REFERENCE_LENGTHS]
    width = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.int64)
    mask = torch.zeros(len(rows), width, dtype=torch.int64)
    for b, r in enumerate(rows):
        ids[b, width - len(r):] = torch.tensor(r)
        mask[b, width - len(r):] = 1
    # Positions count real tokens only (the engine's convention); padded slots get 0.
    pos = (torch.cumsum(mask, dim=1) - 1).clamp(min=0)
    return rows, ids, mask, pos


def build(name, spec, tok, tok_cfg):
    seed_everything(spec["seed"])
    cfg = spec["config"]
    rnd = Init(spec["seed"])
    if cfg["model_type"] == "gpt2":
        sd = gpt2_weights(cfg, rnd, spec.get("prefix", "transformer."), spec.get("buffers", False))
    else:
        sd = llama_like_weights(cfg, rnd)
    # Round to the stored dtype; the reference runs on exactly the stored values, widened.
    stored = {n: (t.to(spec["dtype"]) if t.is_floating_point() else t) for n, t in sd.items()}
    weights = {n: t.float() for n, t in stored.items()}
    fixture = os.path.join(OUT, name)
    model_dir = os.path.join(fixture, "model")
    folder.reset_dir(fixture)
    os.makedirs(model_dir)
    write_json(os.path.join(model_dir, "config.json"), cfg)
    write_json(os.path.join(model_dir, "tokenizer.json"), tok)
    write_json(os.path.join(model_dir, "tokenizer_config.json"), tok_cfg)
    write_checkpoint(model_dir, stored, spec["shards"])

    rows, ids, mask, pos = reference_batch(spec["seed"] + 1000)
    logits = ref.forward(cfg, weights, ids, mask, pos)
    width = ids.shape[1]
    blob = b"".join(logits[b, width - len(r):].contiguous().numpy().astype("<f4").tobytes() for b, r in enumerate(rows))
    with open(os.path.join(fixture, "reference.bin"), "wb") as f:
        f.write(blob)
    buffers = {n for n in sd if re.search(r"\.h\.\d+\.attn\.(bias|masked_bias)$", "." + n)}
    params = sum(t.numel() for n, t in sd.items() if n not in buffers)
    write_json(os.path.join(fixture, "reference.json"), {
        "description": "float32 logits of models/builder/checkpoints_ref.py for each row at each of its tokens; "
                       "rows are left-padded into one batch, positions count real tokens",
        "model_type": cfg["model_type"],
        "dtype": _ST_DTYPE[spec["dtype"]],
        "parameters": params,
        "vocab": cfg["vocab_size"],
        "rows": rows,
        "logits": {"file": "reference.bin", "sha256": sha256_file(os.path.join(fixture, "reference.bin")), "dtype": "float32"},
        "max_abs_logit": float(logits.abs().max()),
    })
    folder.write_sha256sums(fixture)
    print(f"{name}: {cfg['model_type']} {_ST_DTYPE[spec['dtype']]} {params} parameters, max |logit| {float(logits.abs().max()):.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=sorted(FIXTURES))
    args = ap.parse_args()
    tok, tok_cfg = tiny_tokenizer()
    for name in args.only or sorted(FIXTURES):
        build(name, FIXTURES[name], tok, tok_cfg)


if __name__ == "__main__":
    main()
