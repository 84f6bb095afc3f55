import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type LoadedModel } from '../../../src/model/load-model.js';
import { CausalLM } from '../../../src/run/causal-lm.js';
import { expectCacheMatchesRecompute } from '../../helpers/engine-checks.js';
import { CHECKPOINTS, FIXTURE_NAMES, readReference, type Reference } from './checkpoint-fixtures.js';

// The references are torch forwards on exactly the stored values (fp16/bf16 weights widened), and
// the built graph computes in float32 too, so every dtype is held to the float32 tolerance.
const TOL = 1e-4;

const EXPECTED_FAMILIES: Record<string, string> = {
  gpt2: 'gpt2', llama: 'llama', 'llama-linear-bf16': 'llama', qwen2: 'qwen2', 'mistral-fp16': 'mistral',
  phi3: 'phi3', gemma: 'gemma', gemma2: 'gemma2', 'gemma3-bf16': 'gemma3',
};

function maxAbs(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** One left-padded forward pass of the reference rows, positions counting real tokens; logits of the last `keep` positions (0 = all). */
async function forwardRows(m: LoadedModel, rows: number[][], keep = 0): Promise<Float32Array[]> {
  const B = rows.length;
  const W = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(B * W);
  const mask = new BigInt64Array(B * W);
  const pos = new BigInt64Array(B * W);
  rows.forEach((r, b) => r.forEach((t, j) => {
    const k = b * W + W - r.length + j;
    ids[k] = BigInt(t);
    mask[k] = 1n;
    pos[k] = BigInt(j);
  }));
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [B, W]),
    attention_mask: new ort.Tensor('int64', mask, [B, W]),
    position_ids: new ort.Tensor('int64', pos, [B, W]),
  };
  feeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.from([BigInt(keep)]), []);
  const kv = m.io.kv!;
  for (const names of kv.pastNames) for (const n of names) feeds[n] = new ort.Tensor('float32', new Float32Array(0), [B, kv.heads, 0, kv.headDim]);
  const res = (await m.session.run(feeds, ['logits'])).logits!;
  const K = keep > 0 ? Math.min(keep, W) : W;
  expect(res.dims.slice(0, 2)).toEqual([B, K]);
  const out = res.data as Float32Array;
  const V = out.length / (B * K);
  // Row b's tokens sit at the right end of its K kept positions (all of them when keep = 0).
  return rows.map((r, b) => out.slice((b * K + Math.max(0, K - r.length)) * V, (b + 1) * K * V));
}

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
