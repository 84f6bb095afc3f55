import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import type { LoadedModel } from '../../../src/model/load-model.js';
import { FIXTURES } from '../../helpers/paths.js';

export const CHECKPOINTS = path.join(FIXTURES, 'checkpoints');

export interface Reference {
  name: string;
  /** The folder a user would download: config.json, tokenizer files, safetensors. */
  modelDir: string;
  modelType: string;
  dtype: 'F32' | 'F16' | 'BF16';
  parameters: number;
  vocab: number;
  rows: number[][];
  /** Per row, [len × vocab] float32 logits from the builder's torch reference. */
  logits: Float32Array[];
}

export const FIXTURE_NAMES = readdirSync(CHECKPOINTS).filter((n) => !n.startsWith('.')).sort();

export function readReference(name: string): Reference {
  const dir = path.join(CHECKPOINTS, name);
  const j = JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Omit<Reference, 'name' | 'modelDir' | 'logits'> & { model_type: string };
  const bin = readFileSync(path.join(dir, 'reference.bin'));
  const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  let off = 0;
  const logits = j.rows.map((r) => {
    const n = r.length * j.vocab;
    const out = all.subarray(off, off + n);
    off += n;
    return out;
  });
  return { ...j, name, modelType: j.model_type, modelDir: path.join(dir, 'model'), logits };
}

export function maxAbs(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`logits of ${a.length} values compared with ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/**
 * One left-padded forward pass of the reference rows straight through the session, positions
 * counting real tokens; per row, the logits of its last `keep` positions (0 = all). Shared by the
 * equivalence tests and bench/build-graph-figures.ts.
 */
export async function forwardRows(m: LoadedModel, rows: number[][], keep = 0): Promise<Float32Array[]> {
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
  if (res.dims[0] !== B || res.dims[1] !== K) throw new Error(`logits are [${res.dims.join(', ')}]; expected [${B}, ${K}, vocab]`);
  const out = res.data as Float32Array;
  const V = out.length / (B * K);
  // Row b's tokens sit at the right end of its K kept positions (all of them when keep = 0).
  return rows.map((r, b) => out.slice((b * K + Math.max(0, K - r.length)) * V, (b + 1) * K * V));
}
