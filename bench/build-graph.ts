/**
 * Graph-builder benchmark on a SmolLM2-135M-shaped Llama with random weights, made here in a
 * temporary folder (never committed): graph build time, session creation, and forward-pass
 * throughput of plain ONNX ops vs onnxruntime's com.microsoft fused kernels, for F32 and BF16
 * checkpoints. Usage: node --import tsx bench/build-graph.ts [--threads N] [--keep DIR]
 */
import { mkdirSync, mkdtempSync, rmSync, copyFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildGraph } from '../src/model/build-graph/index.js';
import { loadModel } from '../src/model/load-model.js';
import { CausalLM } from '../src/run/causal-lm.js';
import { SHAPES, writeRandomCheckpoint } from './random-model.js';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const threads = Number(opt('--threads') ?? os.availableParallelism());
const only = opt('--only');

// HuggingFaceTB/SmolLM2-135M's shape.
const CONFIG = SHAPES['smollm2-135m'];

/** Random weights (bench/random-model.ts), the config and the demo tokenizer. */
function writeCheckpoint(dir: string, dtype: 'F32' | 'BF16'): number {
  const params = writeRandomCheckpoint(dir, CONFIG, dtype);
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
  const build = await time(() => buildGraph(dir, path.join(dir, 'config.json'), path.join(dir, 'model.safetensors'), CONFIG, { ops }));
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
