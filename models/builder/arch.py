"""Pure-torch GPT-2, Llama and GPT-2 sequence-classifier modules with Hugging Face parameter names.

The decoders take the Optimum-style arguments directly (input_ids, attention_mask
over past+current keys, caller-supplied position_ids, per-layer past key/value)
so that the module that is trained is the very module that is exported.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# A large finite negative rather than -inf: a fully masked row (a left-padding
# query) then softmaxes to a uniform distribution instead of NaN, and masked keys
# still get exactly zero weight whenever at least one key is visible.
MASK_VALUE = -1e9


def attend(q, k, v, attention_mask):
    """q [B,H,T,D]; k, v [B,KV,S,D] with S = past + T; attention_mask [B,S] (1 = real token)."""
    n_rep = q.shape[1] // k.shape[1]
    if n_rep > 1:
        # Grouped-query attention: query head h reads kv head h // n_rep (HF repeat_kv order).
        k = k.unsqueeze(2).expand(-1, -1, n_rep, -1, -1).flatten(1, 2)
        v = v.unsqueeze(2).expand(-1, -1, n_rep, -1, -1).flatten(1, 2)
    t, s = q.shape[2], k.shape[2]
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    # Query i sits at absolute step (s - t) + i: it may read keys up to there.
    q_pos = torch.arange(t, device=q.device).unsqueeze(1) + (s - t)
    k_pos = torch.arange(s, device=q.device).unsqueeze(0)
    keep = (k_pos <= q_pos).unsqueeze(0).unsqueeze(0) & (attention_mask > 0).unsqueeze(1).unsqueeze(2)
    scores = scores.masked_fill(~keep, MASK_VALUE)
    return torch.matmul(torch.softmax(scores, dim=-1), v)


class Conv1D(nn.Module):
    """GPT-2's linear layer: weight stored [in, out]."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out).normal_(std=0.02))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return torch.matmul(x, self.weight) + self.bias


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


class GPT2Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head = cfg["n_head"]
        self.c_attn = Conv1D(cfg["n_embd"], 3 * cfg["n_embd"])
        self.c_proj = Conv1D(cfg["n_embd"], cfg["n_embd"])

    def forward(self, x, attention_mask, past):
        b, t, e = x.shape
        q, k, v = self.c_attn(x).split(e, dim=2)
        q, k, v = (z.reshape(b, t, self.n_head, e // self.n_head).transpose(1, 2) for z in (q, k, v))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        y = attend(q, k, v, attention_mask).transpose(1, 2).reshape(b, t, e)
        return self.c_proj(y), (k, v)


class GPT2MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c_fc = Conv1D(cfg["n_embd"], cfg["n_inner"])
        self.c_proj = Conv1D(cfg["n_inner"], cfg["n_embd"])

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        eps = cfg["layer_norm_epsilon"]
        self.ln_1 = nn.LayerNorm(cfg["n_embd"], eps=eps)
        self.attn = GPT2Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg["n_embd"], eps=eps)
        self.mlp = GPT2MLP(cfg)

    def forward(self, x, attention_mask, past):
        a, present = self.attn(self.ln_1(x), attention_mask, past)
        x = x + a
        return x + self.mlp(self.ln_2(x)), present


class GPT2Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wte = nn.Embedding(cfg["vocab_size"], cfg["n_embd"])
        self.wpe = nn.Embedding(cfg["n_positions"], cfg["n_embd"])
        nn.init.normal_(self.wte.weight, std=0.02)
        nn.init.normal_(self.wpe.weight, std=0.01)
        self.h = nn.ModuleList(GPT2Block(cfg) for _ in range(cfg["n_layer"]))
        self.ln_f = nn.LayerNorm(cfg["n_embd"], eps=cfg["layer_norm_epsilon"])

    def forward(self, input_ids, attention_mask, position_ids, past=None):
        x = self.wte(input_ids) + self.wpe(position_ids)
        presents = []
        for i, block in enumerate(self.h):
            x, present = block(x, attention_mask, None if past is None else past[i])
            presents.append(present)
        return self.ln_f(x), presents


class GPT2LMHeadModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.transformer = GPT2Model(cfg)
        # Depth-scaled init of residual projections, as GPT-2 does, keeps the
        # residual stream from growing with depth early in training.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg["n_layer"]))

    def forward(self, input_ids, attention_mask, position_ids, past=None):
        h, presents = self.hidden(input_ids, attention_mask, position_ids, past)
        return self.head(h), presents

    def hidden(self, input_ids, attention_mask, position_ids, past=None):
        return self.transformer(input_ids, attention_mask, position_ids, past)

    def head(self, h):
        # lm_head is tied to wte: F.linear reads the same tensor, so no copy is exported.
        return F.linear(h, self.transformer.wte.weight)

    def state_dict_hf(self):
        sd = {k: v.detach().clone() for k, v in self.state_dict().items()}
        # HF checkpoints of tied GPT-2 still carry lm_head.weight; loaders expect it.
        sd["lm_head.weight"] = sd["transformer.wte.weight"].clone()
        return sd

    @property
    def n_kv_heads(self):
        return self.cfg["n_head"]

    @property
    def head_dim(self):
        return self.cfg["n_embd"] // self.cfg["n_head"]

    @property
    def n_layers(self):
        return self.cfg["n_layer"]


class GPT2ForSequenceClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.transformer = GPT2Model(cfg)
        self.score = nn.Linear(cfg["n_embd"], cfg["num_labels"], bias=False)
        nn.init.normal_(self.score.weight, std=0.02)

    def forward(self, input_ids, attention_mask):
        # Positions count real tokens only, so left and right padding both give
        # every real token the position it would have unpadded.
        mask = attention_mask.to(torch.int64)
        position_ids = (torch.cumsum(mask, dim=1) - 1).clamp(min=0)
        h, _ = self.transformer(input_ids, mask, position_ids)
        # Pool at the last real token (causal model: it has read the whole text).
        # argmax over float because ORT's ArgMax does not take int64 everywhere.
        steps = torch.arange(1, input_ids.shape[1] + 1, device=input_ids.device).to(torch.float32)
        last = (mask.to(torch.float32) * steps.unsqueeze(0)).argmax(dim=1)
        pooled = h.gather(1, last.view(-1, 1, 1).expand(-1, 1, h.shape[2]))[:, 0]
        return self.score(pooled)

    def state_dict_hf(self):
        return {k: v.detach().clone() for k, v in self.state_dict().items()}


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    d = x.shape[-1] // 2
    return torch.cat([-x[..., d:], x[..., :d]], dim=-1)


class LlamaAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        e = cfg["hidden_size"]
        self.n_head = cfg["num_attention_heads"]
        self.n_kv = cfg["num_key_value_heads"]
        self.head_dim = e // self.n_head
        self.q_proj = nn.Linear(e, self.n_head * self.head_dim, bias=False)
        self.k_proj = nn.Linear(e, self.n_kv * self.head_dim, bias=False)
        self.v_proj = nn.Linear(e, self.n_kv * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.n_head * self.head_dim, e, bias=False)

    def forward(self, x, attention_mask, cos, sin, past):
        b, t, _ = x.shape
        q = self.q_proj(x).reshape(b, t, self.n_head, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).reshape(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).reshape(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        y = attend(q, k, v, attention_mask).transpose(1, 2).reshape(b, t, self.n_head * self.head_dim)
        return self.o_proj(y), (k, v)


class LlamaMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        e, i = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(e, i, bias=False)
        self.up_proj = nn.Linear(e, i, bias=False)
        self.down_proj = nn.Linear(i, e, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.self_attn = LlamaAttention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.mlp = LlamaMLP(cfg)

    def forward(self, x, attention_mask, cos, sin, past):
        a, present = self.self_attn(self.input_layernorm(x), attention_mask, cos, sin, past)
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x)), present


class LlamaModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(LlamaDecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = LlamaModel(cfg)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)
        d = cfg["hidden_size"] // cfg["num_attention_heads"]
        inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
        # Not persistent: HF Llama checkpoints do not store it either.
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, input_ids, attention_mask, position_ids, past=None):
        h, presents = self.hidden(input_ids, attention_mask, position_ids, past)
        return self.head(h), presents

    def head(self, h):
        return self.lm_head(h)

    def hidden(self, input_ids, attention_mask, position_ids, past=None):
        x = self.model.embed_tokens(input_ids)
        freqs = position_ids.to(torch.float32).unsqueeze(-1) * self.inv_freq
        emb = torch.cat([freqs, freqs], dim=-1).unsqueeze(1)  # [B,1,T,D]
        cos, sin = emb.cos(), emb.sin()
        presents = []
        for i, layer in enumerate(self.model.layers):
            x, present = layer(x, attention_mask, cos, sin, None if past is None else past[i])
            presents.append(present)
        return self.model.norm(x), presents

    def state_dict_hf(self):
        return {k: v.detach().clone() for k, v in self.state_dict().items()}

    @property
    def n_kv_heads(self):
        return self.cfg["num_key_value_heads"]

    @property
    def head_dim(self):
        return self.cfg["hidden_size"] // self.cfg["num_attention_heads"]

    @property
    def n_layers(self):
        return self.cfg["num_hidden_layers"]
