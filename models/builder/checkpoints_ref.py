"""Reference forward passes for the checkpoint families trigger-scan builds graphs for.

Each `forward_<family>` reads a Hugging Face style state dict (the names the safetensors
checkpoint carries) and a config dict (config.json), and computes logits for a left-padded
batch exactly as the transformers modeling code of that family does in float32, eager
attention: the same parameter names, the same order of operations (norm weights, embedding
scale, rotary tables, softcapping, sandwich norms, sliding windows), and the same 4D additive
mask built from `attention_mask` (padding), causality and the sliding window, over cache slots.

Written from the transformers sources (modeling_gpt2, modeling_llama, modeling_qwen2,
modeling_mistral, modeling_phi3, modeling_gemma, modeling_gemma2, modeling_gemma3,
modeling_rope_utils, masking_utils); no transformers package is needed or imported.
"""
import math

import torch
import torch.nn.functional as F

NEG = torch.finfo(torch.float32).min


# --------------------------------------------------------------------------------------------
# shared pieces


def act(name, x):
    if name in ("silu", "swish"):
        return F.silu(x)
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        # transformers' NewGELUActivation / PytorchGELUTanh: the tanh approximation.
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    if name == "gelu":
        return F.gelu(x)
    if name == "relu":
        return F.relu(x)
    raise ValueError(name)


def mask_4d(attention_mask, q_len, window=None):
    """[B,1,T,S] additive mask: query i (cache slot S-T+i) reads key slot j iff j <= i's slot,
    attention_mask[b, j] == 1 and, with a sliding window, j > slot - window."""
    b, s = attention_mask.shape
    q_slot = torch.arange(s - q_len, s).view(1, 1, q_len, 1)
    k_slot = torch.arange(s).view(1, 1, 1, s)
    keep = (k_slot <= q_slot) & (attention_mask.view(b, 1, 1, s) > 0)
    if window is not None:
        keep = keep & (k_slot > q_slot - window)
    return torch.where(keep, torch.tensor(0.0), torch.tensor(NEG))


def repeat_kv(x, n_rep):
    if n_rep == 1:
        return x
    b, kv, s, d = x.shape
    return x[:, :, None, :, :].expand(b, kv, n_rep, s, d).reshape(b, kv * n_rep, s, d)


def eager_attention(q, k, v, mask, scaling, softcap=None):
    n_rep = q.shape[1] // k.shape[1]
    k = repeat_kv(k, n_rep)
    v = repeat_kv(v, n_rep)
    w = torch.matmul(q, k.transpose(2, 3)) * scaling
    if softcap is not None:
        w = torch.tanh(w / softcap) * softcap
    w = w + mask
    w = torch.softmax(w, dim=-1, dtype=torch.float32)
    return torch.matmul(w, v).transpose(1, 2)  # [B,T,H,D]


def linear(x, sd, name, bias=None):
    """nn.Linear: weight [out, in]; bias present when the checkpoint has it (or forced)."""
    w = sd[name + ".weight"]
    b = sd.get(name + ".bias") if bias is None else (sd[name + ".bias"] if bias else None)
    return F.linear(x, w, b)


def rms_norm(x, w, eps, plus_one=False):
    # Llama-style: normalise in float32, multiply by w (the gemma family uses 1 + w).
    h = x.float()
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return h * (1.0 + w.float()) if plus_one else w * h


def rotate_half(x):
    d = x.shape[-1] // 2
    return torch.cat((-x[..., d:], x[..., :d]), dim=-1)


def apply_rope(x, cos, sin):
    """cos/sin [B,T,R] over the first R dims of the head (R < head_dim: partial rotary, phi3)."""
    cos = cos.unsqueeze(1)
    sin = sin.unsqueeze(1)
    r = cos.shape[-1]
    x_rot, x_pass = x[..., :r], x[..., r:]
    return torch.cat([(x_rot * cos) + (rotate_half(x_rot) * sin), x_pass], dim=-1)


# --------------------------------------------------------------------------------------------
# rotary frequencies (modeling_rope_utils)


def rope_params(cfg, layer_type=None):
    """(rope_type, theta, scaling dict) for the config, old (rope_theta + rope_scaling) or new
    (rope_parameters) style; gemma3's sliding layers use rope_local_base_freq and no scaling."""
    rp = cfg.get("rope_parameters")
    if isinstance(rp, dict) and layer_type is not None and layer_type in rp:
        rp = rp[layer_type]
    if isinstance(rp, dict) and "rope_theta" in rp:
        return rp.get("rope_type", rp.get("type", "default")), rp["rope_theta"], rp
    if layer_type == "sliding_attention" and cfg.get("model_type") == "gemma3_text":
        return "default", cfg.get("rope_local_base_freq", 10000.0), {}
    scaling = cfg.get("rope_scaling") or {}
    kind = scaling.get("rope_type", scaling.get("type", "default")) if scaling else "default"
    return kind, cfg.get("rope_theta", 10000.0), scaling


def inv_freq_for(cfg, head_dim, layer_type=None):
    kind, base, sc = rope_params(cfg, layer_type)
    dim = int(head_dim * cfg.get("partial_rotary_factor", 1.0))
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    scaling = 1.0
    if kind == "default":
        pass
    elif kind == "linear":
        inv = inv / sc["factor"]
    elif kind == "llama3":
        factor = sc["factor"]
        low, high = sc["low_freq_factor"], sc["high_freq_factor"]
        old = sc["original_max_position_embeddings"]
        low_wl, high_wl = old / low, old / high
        wavelen = 2 * math.pi / inv
        inv_l = torch.where(wavelen > low_wl, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = ~(wavelen < high_wl) * ~(wavelen > low_wl)
        inv = torch.where(medium, smoothed, inv_l)
    elif kind == "longrope":
        # Prompts here are shorter than original_max_position_embeddings: short_factor applies.
        orig = cfg.get("original_max_position_embeddings")
        factor = cfg["max_position_embeddings"] / orig if orig else sc.get("factor", 1.0)
        orig = orig or cfg["max_position_embeddings"]
        scaling = sc.get("attention_factor") or (1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(orig)))
        ext = torch.tensor(sc["short_factor"], dtype=torch.float32)
        inv = 1.0 / (ext * base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    else:
        raise ValueError(kind)
    return inv, scaling


def cos_sin(inv, scaling, position_ids):
    freqs = (inv[None, :, None].float() @ position_ids[:, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos() * scaling, emb.sin() * scaling


# --------------------------------------------------------------------------------------------
# families


def forward_gpt2(cfg, sd, ids, mask, pos):
    p = "transformer." if "transformer.wte.weight" in sd else ""
    e, nh = cfg["n_embd"], cfg["n_head"]
    d = e // nh
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    x = F.embedding(ids, sd[p + "wte.weight"]) + F.embedding(pos, sd[p + "wpe.weight"])
    m = mask_4d(mask, ids.shape[1])
    b, t, _ = x.shape
    for i in range(cfg["n_layer"]):
        h = f"{p}h.{i}."
        a = F.layer_norm(x, (e,), sd[h + "ln_1.weight"], sd[h + "ln_1.bias"], eps)
        # Conv1D: weight [in, out].
        qkv = a @ sd[h + "attn.c_attn.weight"] + sd[h + "attn.c_attn.bias"]
        q, k, v = qkv.split(e, dim=2)
        q, k, v = (z.view(b, t, nh, d).transpose(1, 2) for z in (q, k, v))
        scale = 1.0 / math.sqrt(d) if cfg.get("scale_attn_weights", True) else 1.0
        if cfg.get("scale_attn_by_inverse_layer_idx", False):
            scale /= float(i + 1)
        y = eager_attention(q, k, v, m, scale).reshape(b, t, e)
        x = x + (y @ sd[h + "attn.c_proj.weight"] + sd[h + "attn.c_proj.bias"])
        a = F.layer_norm(x, (e,), sd[h + "ln_2.weight"], sd[h + "ln_2.bias"], eps)
        a = act(cfg.get("activation_function", "gelu_new"), a @ sd[h + "mlp.c_fc.weight"] + sd[h + "mlp.c_fc.bias"])
        x = x + (a @ sd[h + "mlp.c_proj.weight"] + sd[h + "mlp.c_proj.bias"])
    x = F.layer_norm(x, (e,), sd[p + "ln_f.weight"], sd[p + "ln_f.bias"], eps)
    return x @ sd[p + "wte.weight"].t()


def layer_types(cfg):
    n = cfg["num_hidden_layers"]
    if cfg.get("layer_types"):
        return list(cfg["layer_types"])
    mt = cfg["model_type"]
    if mt == "gemma2":
        return ["sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(n)]
    if mt == "gemma3_text":
        pat = cfg.get("sliding_window_pattern", 6)
        return ["sliding_attention" if (i + 1) % pat else "full_attention" for i in range(n)]
    if mt == "qwen2":
        sw = cfg.get("sliding_window") if cfg.get("use_sliding_window", False) else None
        mwl = cfg.get("max_window_layers", n)
        return ["sliding_attention" if sw is not None and i >= mwl else "full_attention" for i in range(n)]
    if mt in ("mistral", "phi3") and cfg.get("sliding_window") is not None:
        return ["sliding_attention"] * n
    return ["full_attention"] * n


def forward_llama_like(cfg, sd, ids, mask, pos):
    """llama, mistral, qwen2, phi3, gemma, gemma2, gemma3_text: one decoder with the switches
    their modeling files differ by."""
    mt = cfg["model_type"]
    gemma = mt in ("gemma", "gemma2", "gemma3_text")
    e, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    d = cfg.get("head_dim") or e // nh
    eps = cfg.get("rms_norm_eps", 1e-6)
    types = layer_types(cfg)
    b, t = ids.shape

    def norm(x, name):
        return rms_norm(x, sd[name + ".weight"], eps, plus_one=gemma)

    x = F.embedding(ids, sd["model.embed_tokens.weight"])
    if gemma:
        # Gemma*: the embedding is scaled by sqrt(hidden) (in the weight dtype, float32 here).
        x = x * torch.tensor(e**0.5, dtype=x.dtype)
    tables = {}
    for lt in set(types):
        inv, sc = inv_freq_for(cfg, d, lt if mt == "gemma3_text" else None)
        tables[lt] = cos_sin(inv, sc, pos)
    masks = {
        "full_attention": mask_4d(mask, t),
        "sliding_attention": mask_4d(mask, t, cfg.get("sliding_window")),
    }
    if mt in ("gemma2", "gemma3_text"):
        scaling = cfg["query_pre_attn_scalar"] ** -0.5
    else:
        scaling = d**-0.5
    softcap = cfg.get("attn_logit_softcapping") if mt in ("gemma2", "gemma3_text") else None
    # Gemma's MLP reads hidden_activation (gelu_pytorch_tanh when unset), the others hidden_act.
    act_name = (cfg.get("hidden_activation") or "gelu_pytorch_tanh") if gemma else cfg.get("hidden_act", "silu")

    for i in range(cfg["num_hidden_layers"]):
        L = f"model.layers.{i}."
        h = norm(x, L + "input_layernorm")
        if mt == "phi3":
            qkv = linear(h, sd, L + "self_attn.qkv_proj")
            qp, kp = nh * d, nkv * d
            q, k, v = qkv[..., :qp], qkv[..., qp:qp + kp], qkv[..., qp + kp:]
        else:
            q = linear(h, sd, L + "self_attn.q_proj")
            k = linear(h, sd, L + "self_attn.k_proj")
            v = linear(h, sd, L + "self_attn.v_proj")
        q = q.view(b, t, -1, d).transpose(1, 2)
        k = k.view(b, t, -1, d).transpose(1, 2)
        v = v.view(b, t, -1, d).transpose(1, 2)
        if mt == "gemma3_text":
            q = rms_norm(q, sd[L + "self_attn.q_norm.weight"], eps, plus_one=True)
            k = rms_norm(k, sd[L + "self_attn.k_norm.weight"], eps, plus_one=True)
        cos, sin = tables[types[i]]
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = eager_attention(q, k, v, masks[types[i]], scaling, softcap).reshape(b, t, nh * d)
        y = linear(y, sd, L + "self_attn.o_proj")
        if mt in ("gemma2", "gemma3_text"):
            y = norm(y, L + "post_attention_layernorm")
            x = x + y
            h = norm(x, L + "pre_feedforward_layernorm")
        else:
            x = x + y
            h = norm(x, L + "post_attention_layernorm")
        if mt == "phi3":
            gu = linear(h, sd, L + "mlp.gate_up_proj")
            gate, up = gu.chunk(2, dim=-1)
            y = linear(up * act(act_name, gate), sd, L + "mlp.down_proj")
        else:
            y = linear(act(act_name, linear(h, sd, L + "mlp.gate_proj")) * linear(h, sd, L + "mlp.up_proj"), sd, L + "mlp.down_proj")
        if mt in ("gemma2", "gemma3_text"):
            y = norm(y, L + "post_feedforward_layernorm")
        x = x + y
    x = norm(x, "model.norm")
    # tie_word_embeddings defaults to True for the gemma configs, False for the others.
    tied = cfg.get("tie_word_embeddings", gemma)
    head = sd["model.embed_tokens.weight"] if tied else sd["lm_head.weight"]
    logits = x @ head.t()
    cap = cfg.get("final_logit_softcapping") if mt in ("gemma2", "gemma3_text") else None
    if cap is not None:
        logits = torch.tanh(logits / cap) * cap
    return logits


def forward(cfg, sd, ids, mask, pos):
    with torch.no_grad():
        if cfg["model_type"] == "gpt2":
            return forward_gpt2(cfg, sd, ids, mask, pos)
        return forward_llama_like(cfg, sd, ids, mask, pos)
