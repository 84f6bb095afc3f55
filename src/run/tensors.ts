import '../model/ort-env.js';
import ort from 'onnxruntime-node';
import type { FloatType, IdType } from '../model/io-signature.js';
import { float16ToFloat32 } from '../util/float16.js';

export type Tensor = ort.Tensor;

export function intTensor(dtype: IdType, values: readonly number[], dims: number[]): ort.Tensor {
  if (dtype === 'int64') {
    const a = new BigInt64Array(values.length);
    for (let i = 0; i < values.length; i++) a[i] = BigInt(values[i]!);
    return new ort.Tensor('int64', a, dims);
  }
  return new ort.Tensor('int32', Int32Array.from(values), dims);
}

export function emptyFloatTensor(dtype: FloatType, dims: number[]): ort.Tensor {
  return new ort.Tensor(dtype, dtype === 'float16' ? new Uint16Array(0) : new Float32Array(0), dims);
}

export function floatTensor(dtype: FloatType, data: Float32Array | Uint16Array, dims: number[]): ort.Tensor {
  return new ort.Tensor(dtype, data, dims);
}

/**
 * The given rows (in that order) of a tensor whose batch axis is `axis` (0 for [B, ...], 1 for
 * stacked [2, B, ...] caches): one contiguous block copy per row.
 */
export function selectBatchRows(t: ort.Tensor, axis: 0 | 1, rows: readonly number[]): ort.Tensor {
  const dims = [...t.dims];
  const outer = axis === 0 ? 1 : dims[0]!;
  const B = dims[axis]!;
  const block = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const src = t.data as Float32Array | Uint16Array;
  const out = new (src.constructor as new (n: number) => Float32Array | Uint16Array)(outer * rows.length * block);
  for (let s = 0; s < outer; s++) {
    rows.forEach((r, k) => out.set(src.subarray((s * B + r) * block, (s * B + r + 1) * block), (s * rows.length + k) * block));
  }
  dims[axis] = rows.length;
  return new ort.Tensor(t.type as 'float32' | 'float16', out, dims);
}

export function boolTensor(value: boolean): ort.Tensor {
  return new ort.Tensor('bool', Uint8Array.from([value ? 1 : 0]), [1]);
}

/**
 * Rows of a logits output as float32. fp32 rows are views into ORT's buffer (no copy); fp16 rows
 * are widened on demand, so a [B, T, V] prefill output costs only the rows a caller reads.
 */
export class LogitsRows {
  private readonly f32: Float32Array | undefined;
  private readonly f16: Uint16Array | undefined;

  constructor(
    t: ort.Tensor,
    readonly vocab: number,
  ) {
    if (t.type === 'float32') this.f32 = t.data as Float32Array;
    else if (t.type === 'float16') this.f16 = t.data as Uint16Array;
    else throw new Error(`logits of type ${t.type}`);
  }

  /** Rows over a plain float32 array the caller made. */
  static of(data: Float32Array, vocab: number): LogitsRows {
    return new LogitsRows(new ort.Tensor('float32', data, [data.length / vocab, vocab]), vocab);
  }

  /** `count` consecutive rows starting at flat row index `row` (= b × T + t). */
  rows(row: number, count = 1): Float32Array {
    const start = row * this.vocab;
    const end = start + count * this.vocab;
    if (this.f32) return this.f32.subarray(start, end);
    return float16ToFloat32(this.f16!.subarray(start, end));
  }
}
