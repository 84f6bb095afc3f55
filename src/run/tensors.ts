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

export function boolTensor(value: boolean): ort.Tensor {
  return new ort.Tensor('bool', Uint8Array.from([value ? 1 : 0]), [1]);
}

/**
 * Logits as float32. fp32 outputs are returned as they are (callers take subarray views);
 * fp16 outputs are widened once per run.
 */
export function logitsData(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') return float16ToFloat32(t.data as Uint16Array);
  throw new Error(`logits of type ${t.type}`);
}
