import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type LoadedModel } from '../../../src/model/load-model.js';
import { CausalLM } from '../../../src/run/causal-lm.js';
import { expectCacheMatchesRecompute, expectForkMatchesRecompute, expectSharedPrefixMatches } from '../../helpers/engine-checks.js';
import { CHECKPOINTS, FIXTURE_NAMES, forwardRows, maxAbs, readReference, type Reference } from './checkpoint-fixtures.js';

// The references are torch forwards on exactly the stored values (fp16/bf16 weights widened), and
// the built graph computes in float32 too, so every dtype is held to the float32 tolerance.
const TOL = 1e-4;

const EXPECTED_FAMILIES: Record<string, string> = {
  gpt2: 'gpt2', llama: 'llama', 'llama-linear-bf16': 'llama', qwen2: 'qwen2', 'mistral-fp16': 'mistral',
  phi3: 'phi3', gemma: 'gemma', gemma2: 'gemma2', 'gemma3-bf16': 'gemma3',
};

describe('checkpoint fixtures match their SHA256SUMS', () => {
  it.each(FIXTURE_NAMES)('%s', (name) => {
    const dir = path.join(CHECKPOINTS, name);
    const listed = readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8').trim().split('\n').map((l) => l.split('  ') as [string, string]);
    const walk = (rel: string): string[] => readdirSync(path.join(dir, rel)).flatMap((n) => {
      const r = rel ? `${rel}/${n}` : n;
      return statSync(path.join(dir, r)).isDirectory() ? walk(r) : [r];
    });
    expect(listed.map(([, f]) => f).sort()).toEqual(walk('').filter((f) => f !== 'SHA256SUMS').sort());
    for (const [digest, file] of listed) expect(createHash('sha256').update(readFileSync(path.join(dir, file))).digest('hex'), file).toBe(digest);
  });
});

describe.each(FIXTURE_NAMES)('graph built from the %s checkpoint', (name) => {
  let ref: Reference;
  let m: LoadedModel;
  beforeAll(async () => {
    ref = readReference(name);
    m = await loadModel(ref.modelDir, { threads: 1 });
  });
  afterAll(async () => m?.release());

  it('is the family the config names, with every parameter of the checkpoint', () => {
    expect(m.layout.layout).toBe('safetensors');
    expect(m.built?.info.family).toBe(EXPECTED_FAMILIES[name]);
    expect(m.built?.info.modelType).toBe(ref.modelType);
    expect(m.built?.info.parameters).toBe(ref.parameters);
    expect(Object.keys(m.built!.info.dtypes)).toEqual([ref.dtype]);
  });

  it(`gives the torch reference's logits at every real position of a left-padded batch (within ${TOL})`, async () => {
    expect(new Set(ref.rows.map((r) => r.length)).size).toBe(ref.rows.length);
    const got = await forwardRows(m, ref.rows);
    ref.rows.forEach((_, b) => expect(maxAbs(got[b]!, ref.logits[b]!)).toBeLessThanOrEqual(TOL));
  });

  it('gives logits only at the last positions asked for with num_logits_to_keep', async () => {
    expect(m.io.logitsToKeep?.name).toBe('num_logits_to_keep');
    const got = await forwardRows(m, ref.rows, 3);
    ref.rows.forEach((r, b) => expect(maxAbs(got[b]!, ref.logits[b]!.subarray((r.length - 3) * ref.vocab))).toBeLessThanOrEqual(TOL));
  });

  it('gives the same next-token logits through the engine (its batching and padding)', async () => {
    const lm = new CausalLM(m, { batchSize: 8 });
    const next = await lm.nextTokenLogits(ref.rows);
    ref.rows.forEach((r, b) => expect(maxAbs(next[b]!, ref.logits[b]!.subarray((r.length - 1) * ref.vocab))).toBeLessThanOrEqual(TOL));
  });

  it('decodes greedily with its KV cache exactly as recomputing the whole sequence', async () => {
    await expectCacheMatchesRecompute(m, TOL);
  });

  // Sliding windows count positions, not cache slots: a shared prefix's padding and the engine's
  // spare cache slots lie between real keys (with slots, gemma2's 5-token window gave logits 3.8 off).
  it('reads a shared prefix once with the logits of reading every row whole', async () => {
    await expectSharedPrefixMatches(m, TOL);
  });

  it('forks rows from cached prefixes with the logits of reading them from scratch', async () => {
    await expectForkMatchesRecompute(m, TOL);
  });

  it('gives the same logits built with com.microsoft kernels (the measured alternative)', async () => {
    const fused = await loadModel(ref.modelDir, { threads: 1, graphOps: 'fused' });
    try {
      expect(fused.built?.info.ops).toBe('fused');
      const got = await forwardRows(fused, ref.rows);
      ref.rows.forEach((_, b) => expect(maxAbs(got[b]!, ref.logits[b]!)).toBeLessThanOrEqual(TOL));
    } finally {
      await fused.release();
    }
  });
});
