"""PyTorch eager reference for `npm run bench`: the same random weights (the bench's model.safetensors),
the same workload (left-padded prompts, KV cache, logits at the last position only, greedy decoding),
written the way a Python user writes it. Prints one JSON object on stdout.

Usage: python3 bench/eager.py --model DIR --prompt-len L --new N --batches 1,16,64 --prompts 8,32,64 --threads T
       python3 bench/eager.py --sgemm --threads T   (the BLAS kernel this process got, and its sgemm GFLOP/s)
"""
import argparse
import ctypes
import json
import math
import os
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise SystemExit(f"eager.py reads F32 checkpoints only ({name} is {t['dtype']})")
        a, b = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.float32).reshape(t["shape"]).copy())
    return out


def blas_kernel():
    """Which OpenBLAS core the process runs (the library torch's BLAS calls resolve to)."""
    names = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if "blas" in os.path.basename(p):
                names.add(p)
    for p in sorted(names):
        try:
            lib = ctypes.CDLL(p)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            return f"OpenBLAS {lib.openblas_get_config().decode()} core {lib.openblas_get_corename().decode()} ({p})"
        except (OSError, AttributeError):
            continue
    return "unknown BLAS: " + (", ".join(sorted(names)) or "none loaded")


class GPT2:
    def __init__(self, w, c):
        self.w, self.c = w, c
        self.L, self.H = c["n_layer"], c["n_head"]
        self.E = c["n_embd"]
        self.D = self.E // self.H
        self.eps = c.get("layer_norm_epsilon", 1e-5)

    def forward(self, ids, pos, mask, past):
        w, H, D = self.w, self.H, self.D
        B, T = ids.shape
        x = w["wte.weight"][ids] + w["wpe.weight"][pos]
        present = []
        for i in range(self.L):
            p = f"h.{i}."
            h = F.layer_norm(x, (self.E,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], self.eps)
            qkv = torch.addmm(w[p + "attn.c_attn.bias"], h.view(B * T, -1), w[p + "attn.c_attn.weight"]).view(B, T, 3, H, D)
            q, k, v = (qkv[:, :, j].transpose(1, 2) for j in range(3))
            if past is not None:
                k = torch.cat([past[i][0], k], dim=2)
                v = torch.cat([past[i][1], v], dim=2)
            present.append((k, v))
            a = attention(q, k, v, mask, 1 / math.sqrt(D))
            a = torch.addmm(w[p + "attn.c_proj.bias"], a.transpose(1, 2).reshape(B * T, -1), w[p + "attn.c_proj.weight"]).view(B, T, -1)
            x = x + a
            h = F.layer_norm(x, (self.E,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], self.eps)
            h = F.gelu(torch.addmm(w[p + "mlp.c_fc.bias"], h.view(B * T, -1), w[p + "mlp.c_fc.weight"]), approximate="tanh")
            x = x + torch.addmm(w[p + "mlp.c_proj.bias"], h, w[p + "mlp.c_proj.weight"]).view(B, T, -1)
        x = F.layer_norm(x[:, -1], (self.E,), w["ln_f.weight"], w["ln_f.bias"], self.eps)
        return x @ w["wte.weight"].t(), present


class Llama:
    def __init__(self, w, c):
        self.w, self.c = w, c
        self.L, self.H = c["num_hidden_layers"], c["num_attention_heads"]
        self.KV = c.get("num_key_value_heads", self.H)
        self.E = c["hidden_size"]
        self.D = self.E // self.H
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.inv_freq = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, self.D, 2, dtype=torch.float32) / self.D))
        self.head = w.get("lm_head.weight", w["model.embed_tokens.weight"])

    def rms(self, x, weight):
        return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def forward(self, ids, pos, mask, past):
        w, H, KV, D = self.w, self.H, self.KV, self.D
        B, T = ids.shape
        x = w["model.embed_tokens.weight"][ids]
        freqs = pos[..., None].float() * self.inv_freq
        emb = torch.cat([freqs, freqs], dim=-1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]

        def rope(t):
            t1, t2 = t[..., : D // 2], t[..., D // 2 :]
            return t * cos + torch.cat([-t2, t1], dim=-1) * sin

        def lin(name, h):
            b = w.get(name + ".bias")
            return F.linear(h, w[name + ".weight"], b)

        present = []
        for i in range(self.L):
            p = f"model.layers.{i}."
            h = self.rms(x, w[p + "input_layernorm.weight"])
            q = rope(lin(p + "self_attn.q_proj", h).view(B, T, H, D).transpose(1, 2))
            k = rope(lin(p + "self_attn.k_proj", h).view(B, T, KV, D).transpose(1, 2))
            v = lin(p + "self_attn.v_proj", h).view(B, T, KV, D).transpose(1, 2)
            if past is not None:
                k = torch.cat([past[i][0], k], dim=2)
                v = torch.cat([past[i][1], v], dim=2)
            present.append((k, v))
            kk, vv = k.repeat_interleave(H // KV, dim=1), v.repeat_interleave(H // KV, dim=1)
            a = attention(q, kk, vv, mask, 1 / math.sqrt(D))
            x = x + lin(p + "self_attn.o_proj", a.transpose(1, 2).reshape(B, T, -1))
            h = self.rms(x, w[p + "post_attention_layernorm.weight"])
            x = x + lin(p + "mlp.down_proj", F.silu(lin(p + "mlp.gate_proj", h)) * lin(p + "mlp.up_proj", h))
        x = self.rms(x[:, -1], w["model.norm.weight"])
        return x @ self.head.t(), present


def attention(q, k, v, mask, scale):
    """Causal attention over [past + T] slots; `mask` [B, past + T] is 0 on left padding."""
    T, S = q.shape[2], k.shape[2]
    causal = torch.ones(T, S, dtype=torch.bool).tril(S - T)
    allowed = causal[None, None] & mask[:, None, None, :].bool()
    s = (q @ k.transpose(-1, -2)) * scale
    s = s.masked_fill(~allowed, torch.finfo(s.dtype).min)
    return torch.softmax(s, dim=-1) @ v


def left_pad(rows):
    width = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for b, r in enumerate(rows):
        ids[b, width - len(r) :] = torch.tensor(r)
        mask[b, width - len(r) :] = 1
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids, mask, pos


def run(model, prompts, batch, new):
    """Prefill and greedy decoding of `prompts` in batches; seconds in prefill and in decode steps."""
    pre = dec = 0.0
    for s in range(0, len(prompts), batch):
        ids, mask, pos = left_pad(prompts[s : s + batch])
        t0 = time.perf_counter()
        logits, past = model.forward(ids, pos, mask, None)
        pre += time.perf_counter() - t0
        nxt = logits.argmax(-1, keepdim=True)
        last = pos[:, -1:]
        t0 = time.perf_counter()
        for _ in range(new):
            mask = torch.cat([mask, torch.ones(len(ids), 1, dtype=torch.long)], dim=1)
            last = last + 1
            logits, past = model.forward(nxt, last, mask, past)
            nxt = logits.argmax(-1, keepdim=True)
        dec += time.perf_counter() - t0
    return pre, dec


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sgemm", action="store_true", help="only measure a 2048^3 sgemm and name the BLAS kernel")
    ap.add_argument("--model")
    ap.add_argument("--prompt-len", type=int)
    ap.add_argument("--new", type=int)
    ap.add_argument("--batches")
    ap.add_argument("--prompts")
    ap.add_argument("--threads", type=int, required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.sgemm:
        n = 2048
        x = torch.rand(n, n) - 0.5
        x @ x
        best = min(timed(lambda: x @ x) for _ in range(6))
        print(json.dumps({"kernel": blas_kernel(), "gflops": 2 * n**3 / best / 1e9}))
        return
    c = json.load(open(os.path.join(a.model, "config.json")))
    w = load_safetensors(os.path.join(a.model, "model.safetensors"))
    model = GPT2(w, c) if c["model_type"] == "gpt2" else Llama(w, c)
    V = w["wte.weight" if c["model_type"] == "gpt2" else "model.embed_tokens.weight"].shape[0]
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "kernel": blas_kernel(), "prefill": {}, "decode": {}}
    with torch.inference_mode():
        # Same token ids as the engine's side: row r, position i.
        def prompts_of(n):
            return [[1 + ((r * 131 + i * 17) % (V - 2)) for i in range(a.prompt_len)] for r in range(n)]

        run(model, prompts_of(2), 2, 2)  # warm-up
        for batch, n in zip(map(int, a.batches.split(",")), map(int, a.prompts.split(","))):
            pre, dec = run(model, prompts_of(n), batch, a.new)
            out["prefill"][str(batch)] = n * a.prompt_len / pre
            out["decode"][str(batch)] = n * a.new / dec
    print(json.dumps(out))


if __name__ == "__main__":
    main()
