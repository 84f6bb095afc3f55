import { endianness } from 'node:os';

/**
 * safetensors dtypes and how to turn their little-endian bytes into JS typed arrays.
 * Bit widths follow the safetensors reference (`Dtype::bitsize`); sub-byte and exotic float8
 * formats are known (so files using them validate) but not decoded.
 */
export const DTYPE_BITS: ReadonlyMap<string, number> = new Map([
  ['BOOL', 8],
  ['U8', 8],
  ['I8', 8],
  ['F8_E5M2', 8],
  ['F8_E4M3', 8],
  ['F8_E8M0', 8],
  ['F8_E4M3FNUZ', 8],
  ['F8_E5M2FNUZ', 8],
  ['F4', 4],
  ['F6_E2M3', 6],
  ['F6_E3M2', 6],
  ['I16', 16],
  ['U16', 16],
  ['F16', 16],
  ['BF16', 16],
  ['I32', 32],
  ['U32', 32],
  ['F32', 32],
  ['I64', 64],
  ['U64', 64],
  ['F64', 64],
  ['C64', 64],
]);

export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Whether `decodeTensor` can turn this dtype into a typed array. */
export function isDecodable(dtype: string): boolean {
  return DECODERS.has(dtype);
}

/**
 * `bytes` must be a fresh buffer owned by the caller (it may be byte-swapped in place on
 * big-endian hosts and is wrapped without copying). Half and 8-bit floats widen to Float32Array
 * because JS has no narrower float arrays; C64 comes back as interleaved (re, im) Float32Array.
 */
export function decodeTensor(dtype: string, bytes: Uint8Array): TensorData {
  const dec = DECODERS.get(dtype);
  if (!dec) throw new RangeError(`dtype ${dtype} cannot be decoded`);
  const width = Math.max(1, (DTYPE_BITS.get(dtype) ?? 8) / 8);
  // Typed-array views need an aligned offset; copy when the caller's buffer is a misaligned slice.
  let own = bytes;
  if (bytes.byteOffset % 8 !== 0) own = new Uint8Array(bytes);
  if (dtype === 'C64') swapIfBigEndian(own, 4);
  else swapIfBigEndian(own, width);
  return dec(own);
}

const LITTLE = endianness() === 'LE';

function swapIfBigEndian(b: Uint8Array, width: number): void {
  if (LITTLE || width === 1) return;
  for (let i = 0; i + width <= b.length; i += width) b.subarray(i, i + width).reverse();
}

function view<T>(b: Uint8Array, width: number, ctor: new (buf: ArrayBufferLike, off: number, len: number) => T): T {
  return new ctor(b.buffer, b.byteOffset, Math.floor(b.byteLength / width));
}

let halfTable: Float32Array | undefined;
function halfToFloatTable(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const f = h & 0x3ff;
      halfTable[h] = e === 0 ? sign * f * 2 ** -24 : e === 31 ? (f ? NaN : sign * Infinity) : sign * (1 + f / 1024) * 2 ** (e - 15);
    }
  }
  return halfTable;
}

function float8Table(expBits: number, manBits: number, bias: number, fn: boolean): Float32Array {
  const t = new Float32Array(256);
  const expMax = (1 << expBits) - 1;
  const manMax = (1 << manBits) - 1;
  for (let v = 0; v < 256; v++) {
    const sign = v & 0x80 ? -1 : 1;
    const e = (v >> manBits) & expMax;
    const m = v & manMax;
    let x: number;
    if (e === 0) x = m * 2 ** (1 - bias - manBits);
    else if (fn && e === expMax && m === manMax) x = NaN; // E4M3FN: no infinities, only S.1111.111 is NaN
    else if (!fn && e === expMax) x = m ? NaN : Infinity;
    else x = (1 + m / (1 << manBits)) * 2 ** (e - bias);
    t[v] = sign * x;
  }
  return t;
}
const E4M3 = float8Table(4, 3, 7, true);
const E5M2 = float8Table(5, 2, 15, false);

function lookup8(table: Float32Array): (b: Uint8Array) => Float32Array {
  return (b) => {
    const out = new Float32Array(b.length);
    for (let i = 0; i < b.length; i++) out[i] = table[b[i] as number] as number;
    return out;
  };
}

const DECODERS: ReadonlyMap<string, (b: Uint8Array) => TensorData> = new Map<string, (b: Uint8Array) => TensorData>([
  ['BOOL', (b) => b],
  ['U8', (b) => b],
  ['I8', (b) => view(b, 1, Int8Array)],
  ['I16', (b) => view(b, 2, Int16Array)],
  ['U16', (b) => view(b, 2, Uint16Array)],
  ['I32', (b) => view(b, 4, Int32Array)],
  ['U32', (b) => view(b, 4, Uint32Array)],
  ['F32', (b) => view(b, 4, Float32Array)],
  ['C64', (b) => view(b, 4, Float32Array)],
  ['I64', (b) => view(b, 8, BigInt64Array)],
  ['U64', (b) => view(b, 8, BigUint64Array)],
  ['F64', (b) => view(b, 8, Float64Array)],
  [
    'F16',
    (b) => {
      const t = halfToFloatTable();
      const src = view(b, 2, Uint16Array);
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = t[src[i] as number] as number;
      return out;
    },
  ],
  [
    'BF16',
    (b) => {
      // bfloat16 is the top half of a float32, so widening is a shift.
      const src = view(b, 2, Uint16Array);
      const bits = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) bits[i] = (src[i] as number) << 16;
      return new Float32Array(bits.buffer);
    },
  ],
  ['F8_E4M3', lookup8(E4M3)],
  ['F8_E5M2', lookup8(E5M2)],
]);
