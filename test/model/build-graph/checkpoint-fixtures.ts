import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
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
