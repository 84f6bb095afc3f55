/**
 * Graph-builder benchmark on a SmolLM2-135M-shaped Llama with random weights, made here in a
 * temporary folder (never committed): graph build time, session creation, and forward-pass
 * throughput of plain ONNX ops vs onnxruntime's com.microsoft fused kernels, for F32 and BF16
 * checkpoints. Usage: node --import tsx bench/build-graph.ts [--threads N] [--keep DIR]
 */
import { mkdirSync, mkdtempSync, openSync, writeSync, closeSync, rmSync, copyFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildGraph } from '../src/model/build-graph/index.js';
import { loadModel } from '../src/model/load-model.js';
import { CausalLM } from '../src/run/causal-lm.js';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const threads = Number(opt('--threads') ?? os.availableParallelism());
const only = opt('--only');

// HuggingFaceTB/SmolLM2-135M's shape.
const CONFIG = {
  model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30,
  num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152, max_position_embeddings: 8192, rms_norm_eps: 1e-5,
  rope_theta: 100000, tie_word_embeddings: true, hidden_act: 'silu', bos_token_id: 0, eos_token_id: 0, pad_token_id: 0,
};

function tensorsOf(c: typeof CONFIG): [string, number[]][] {
  const E = c.hidden_size, I = c.intermediate_size, D = E / c.num_attention_heads, KV = c.num_key_value_heads * D;
  const out: [string, number[]][] = [['model.embed_tokens.weight', [c.vocab_size, E]], ['model.norm.weight', [E]]];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const L = `model.layers.${i}`;
    out.push([`${L}.input_layernorm.weight`, [E]], [`${L}.post_attention_layernorm.weight`, [E]],
      [`${L}.self_attn.q_proj.weight`, [E, E]], [`${L}.self_attn.k_proj.weight`, [KV, E]], [`${L}.self_attn.v_proj.weight`, [KV, E]],
      [`${L}.self_attn.o_proj.weight`, [E, E]], [`${L}.mlp.gate_proj.weight`, [I, E]], [`${L}.mlp.up_proj.weight`, [I, E]], [`${L}.mlp.down_proj.weight`, [E, I]]);
  }
  return out;
}

/** Random weights (uniform, small; norms near 1) written tensor by tensor. */
function writeCheckpoint(dir: string, dtype: 'F32' | 'BF16'): number {
  const ts = tensorsOf(CONFIG);
  const width = dtype === 'F32' ? 4 : 2;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  let params = 0;
  for (const [name, shape] of ts) {
    const n = shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype, shape, data_offsets: [off, off + n * width] };
    off += n * width;
    params += n;
  }
  let h = Buffer.from(JSON.stringify(header));
  h = Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8, 0x20)]);
  const fd = openSync(path.join(dir, 'model.safetensors'), 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  writeSync(fd, len);
  writeSync(fd, h);
  let s = 0x9e3779b9;
  for (const [name, shape] of ts) {
    const n = shape.reduce((a, b) => a * b, 1);
    const f = new Float32Array(n);
    const isNorm = name.endsWith('norm.weight');
    for (let i = 0; i < n; i++) {
      s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
      const u = (s >>> 0) / 2 ** 32 - 0.5;
      f[i] = isNorm ? 1 + 0.1 * u : 0.08 * u;
    }
    if (dtype === 'F32') writeSync(fd, new Uint8Array(f.buffer));
    else {
      const b = new Uint16Array(n);
      const bits = new Uint32Array(f.buffer);
      for (let i = 0; i < n; i++) b[i] = bits[i]! >>> 16;
      writeSync(fd, new Uint8Array(b.buffer));
    }
  }
  closeSync(fd);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...CONFIG, torch_dtype: dtype === 'F32' ? 'float32' : 'bfloat16' }));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join('models/demo-clean', f), path.join(dir, f));
  return params;
}

/** Wall time and CPU time (all threads of this process): on a shared machine the CPU figure is the steadier one. */
async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const value = await fn();
  const c = process.cpuUsage(c0);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: (c.user + c.system) / 1000, value };
}

const rss = () => Math.round(process.memoryUsage().rss / 2 ** 20);

async function measure(dir: string, ops: 'plain' | 'fused') {
  const build = await time(() => buildGraph(dir, path.join(dir, 'config.json'), path.join(dir, 'model.safetensors'), CONFIG as unknown as Record<string, unknown>, { ops }));
  const load = await time(() => loadModel(dir, { threads, graphOps: ops }));
  const m = load.value;
  try {
    // A scan's passes: teacher forcing over prompt + answer (8 rows × ~96 tokens), and decoding.
    const rows = Array.from({ length: 8 }, (_, r) => Array.from({ length: 80 + r * 4 }, (_, i) => 1 + ((r * 131 + i * 17) % 1500)));
    const lm = new CausalLM(m, { batchSize: 8 });
    await lm.nextTokenLogits(rows.slice(0, 2).map((r) => r.slice(0, 8)));
    const items = rows.map((r) => ({ prompt: r.slice(0, 64), continuation: r.slice(64) }));
    const tokens = rows.reduce((a, r) => a + r.length, 0);
    const tf = await time(() => lm.teacherForce(items, () => {}));
    const prefill = await time(() => lm.nextTokenLogits(rows));
    const steps = 16;
    const gen = await time(() => lm.generate(rows.map((r) => r.slice(0, 32)), steps, { stopAtEos: false }));
    const r = (x: number) => Math.round(x);
    return {
      ops,
      build: { ms: r(build.ms), cpuMs: r(build.cpuMs), nodes: build.value.info.nodes },
      session: { ms: r(load.ms - build.ms), cpuMs: r(load.cpuMs - build.cpuMs) },
      teacherForce: { tokS: r(tokens / (tf.ms / 1000)), cpuMs: r(tf.cpuMs) },
      prefill: { tokS: r(tokens / (prefill.ms / 1000)), cpuMs: r(prefill.cpuMs) },
      decode: { tokS: r((8 * steps) / (gen.ms / 1000)), cpuMs: r(gen.cpuMs) },
      rssMiB: rss(),
    };
  } finally {
    await m.release();
  }
}

const keep = opt('--keep');
const root = keep ?? mkdtempSync(path.join(os.tmpdir(), 'ts-bench-smollm2-'));
try {
  for (const dtype of ['F32', 'BF16'] as const) {
    if (only && only !== dtype) continue;
    const dir = path.join(root, dtype);
    if (!existsSync(path.join(dir, 'model.safetensors'))) {
      mkdirSync(dir, { recursive: true });
      const t = await time(async () => writeCheckpoint(dir, dtype));
      console.log(`${dtype}: wrote ${t.value.toLocaleString('en-US')} random parameters in ${Math.round(t.ms)} ms`);
    }
    for (const ops of ['plain', 'fused'] as const) console.log(dtype, JSON.stringify(await measure(dir, ops)));
  }
} finally {
  if (!keep) rmSync(root, { recursive: true, force: true });
}
console.log(`threads ${threads}, ${os.cpus()[0]?.model ?? 'cpu'}`);
