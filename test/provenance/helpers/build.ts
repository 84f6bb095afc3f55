/**
 * Byte-level builders for test inputs: safetensors files, pickle streams and ZIP archives.
 * They write exactly what they are told, including malformed structures, so each hostile case
 * can be stated precisely.
 */
import * as zlib from 'node:zlib';
import { deflateRawSync } from 'node:zlib';

const zlibCrc32 = (zlib as { crc32?: (b: Uint8Array) => number }).crc32;

export function concat(...parts: (Uint8Array | number[] | string)[]): Uint8Array {
  const bufs = parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p as Uint8Array | number[])));
  return new Uint8Array(Buffer.concat(bufs));
}

function u64le(n: bigint): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return new Uint8Array(b);
}

// --------------------------------------------------------------------------- safetensors

export interface TensorSpec {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** A well-formed safetensors file: contiguous offsets, header padded with spaces to a multiple of 8. */
export function safetensors(tensors: TensorSpec[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header['__metadata__'] = metadata;
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.data.length] };
    off += t.data.length;
  }
  return rawSafetensors(JSON.stringify(header), concat(...tensors.map((t) => t.data)));
}

/** A safetensors file from literal header text (padded to 8) and data bytes; N may be overridden. */
export function rawSafetensors(headerText: string | Uint8Array, data: Uint8Array, headerLength?: bigint): Uint8Array {
  let h = typeof headerText === 'string' ? Buffer.from(headerText, 'utf8') : Buffer.from(headerText);
  if (h.length % 8 !== 0) h = Buffer.concat([h, Buffer.alloc(8 - (h.length % 8), 0x20)]);
  return concat(u64le(headerLength ?? BigInt(h.length)), h, data);
}

export function f32(...xs: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(xs).buffer);
}

// --------------------------------------------------------------------------- pickle

/** Pickle opcode builders; strings are encoded the way CPython's pickler writes them. */
export const pk = {
  proto: (n: number) => [0x80, n],
  frame: (n: number) => concat([0x95], u64le(BigInt(n))),
  mark: () => [0x28],
  stop: () => [0x2e],
  pop: () => [0x30],
  none: () => [0x4e],
  tuple: () => [0x74],
  tuple1: () => [0x85],
  tuple2: () => [0x86],
  tuple3: () => [0x87],
  emptyTuple: () => [0x29],
  emptyDict: () => [0x7d],
  emptyList: () => [0x5d],
  reduce: () => [0x52],
  build: () => [0x62],
  setitem: () => [0x73],
  setitems: () => [0x75],
  newfalse: () => [0x89],
  binint1: (n: number) => [0x4b, n],
  binint: (n: number) => concat([0x4a], new Uint8Array(Int32Array.of(n).buffer)),
  global: (mod: string, name: string) => concat('c', `${mod}\n${name}\n`),
  inst: (mod: string, name: string) => concat('i', `${mod}\n${name}\n`),
  stackGlobal: () => [0x93],
  memoize: () => [0x94],
  binput: (i: number) => [0x71, i],
  binget: (i: number) => [0x68, i],
  longBinget: (i: number) => concat([0x6a], new Uint8Array(Uint32Array.of(i).buffer)),
  put: (i: number) => concat('p', `${i}\n`),
  get: (i: number) => concat('g', `${i}\n`),
  binpersid: () => [0x51],
  /** SHORT_BINUNICODE (protocol 4) or BINUNICODE for longer strings. */
  str: (s: string) => {
    const b = Buffer.from(s, 'utf8');
    return b.length < 256 ? concat([0x8c, b.length], b) : concat([0x58], new Uint8Array(Uint32Array.of(b.length).buffer), b);
  },
  binunicode: (s: string) => {
    const b = Buffer.from(s, 'utf8');
    return concat([0x58], new Uint8Array(Uint32Array.of(b.length).buffer), b);
  },
  /** Protocol 0 STRING literal. */
  string0: (s: string) => concat('S', `'${s}'\n`),
  shortBinstring: (s: string) => concat([0x55, s.length], s),
};

export function pickle(...ops: (Uint8Array | number[])[]): Uint8Array {
  return concat(...ops);
}

// --------------------------------------------------------------------------- zip

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(b: Uint8Array): number {
  // node:zlib has a native crc32 from Node 20.15; large hostile cases are tens of MiB.
  if (typeof zlibCrc32 === 'function') return zlibCrc32(b) >>> 0;
  let c = 0xffffffff;
  for (const x of b) c = (CRC_TABLE[(c ^ x) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipSpec {
  name: string;
  data: Uint8Array;
  /** 0 stored (what torch writes), 8 deflate; other numbers are written as given over stored bytes. */
  method?: number;
  /** Name written into the local header, to build central/local mismatches. */
  localName?: string;
  /** General-purpose flags (default 0x800, UTF-8 names), in both headers unless `localFlags` is given. */
  flags?: number;
  localFlags?: number;
  localMethod?: number;
  /** Sizes and CRC declared in both headers instead of the true ones (lying sizes). */
  declaredSize?: number;
  declaredCrc?: number;
  /** Local header size differs from the central directory's. */
  localSize?: number;
  /** Data descriptor the way torch writes it: bit 3, zero CRC and sizes in the local header, a descriptor record after the data. */
  descriptor?: boolean;
  /** Point this entry's data at an earlier entry's local header offset (overlapping entries). */
  aliasOf?: number;
}

/** A ZIP archive. `zip64` writes ZIP64 extra fields, end record and locator the way large torch files have them. */
export function zip(entries: ZipSpec[], opts: { zip64?: boolean; prefix?: Uint8Array } = {}): Uint8Array {
  const z64 = opts.zip64 ?? false;
  const chunks: Buffer[] = [];
  let offset = opts.prefix?.length ?? 0;
  if (opts.prefix) chunks.push(Buffer.from(opts.prefix));
  const central: Buffer[] = [];
  const offsets: number[] = [];
  for (const e of entries) {
    const method = e.method ?? 0;
    const body = method === 8 ? deflateRawSync(e.data) : Buffer.from(e.data);
    const name = Buffer.from(e.name, 'utf8');
    const localName = Buffer.from(e.localName ?? e.name, 'utf8');
    const crc = e.declaredCrc ?? crc32(e.data);
    const size = e.declaredSize ?? e.data.length;
    const csize = e.declaredSize !== undefined && method === 0 ? e.declaredSize : body.length;
    const flags = (e.flags ?? 0x800) | (e.descriptor ? 0x8 : 0);
    const lfh = Buffer.alloc(30);
    lfh.writeUInt32LE(0x04034b50, 0);
    lfh.writeUInt16LE(z64 ? 45 : 20, 4);
    lfh.writeUInt16LE(e.localFlags ?? flags, 6);
    lfh.writeUInt16LE(e.localMethod ?? method, 8);
    lfh.writeUInt32LE(e.descriptor ? 0 : crc, 14);
    lfh.writeUInt32LE(e.descriptor ? 0 : csize, 18);
    lfh.writeUInt32LE(e.descriptor ? 0 : (e.localSize ?? size), 22);
    lfh.writeUInt16LE(localName.length, 26);
    lfh.writeUInt16LE(0, 28);
    const entryOffset = e.aliasOf !== undefined ? (offsets[e.aliasOf] as number) : offset;
    offsets.push(entryOffset);
    if (e.aliasOf === undefined) {
      chunks.push(lfh, localName, body);
      if (e.descriptor) {
        const dd = Buffer.alloc(16);
        dd.writeUInt32LE(0x08074b50, 0);
        dd.writeUInt32LE(crc, 4);
        dd.writeUInt32LE(csize, 8);
        dd.writeUInt32LE(size, 12);
        chunks.push(dd);
      }
    }

    const extra = z64 ? Buffer.alloc(28) : Buffer.alloc(0);
    if (z64) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(size), 4);
      extra.writeBigUInt64LE(BigInt(csize), 12);
      extra.writeBigUInt64LE(BigInt(entryOffset), 20);
    }
    const cdh = Buffer.alloc(46);
    cdh.writeUInt32LE(0x02014b50, 0);
    cdh.writeUInt16LE(z64 ? 45 : 20, 4);
    cdh.writeUInt16LE(z64 ? 45 : 20, 6);
    cdh.writeUInt16LE(flags, 8);
    cdh.writeUInt16LE(method, 10);
    cdh.writeUInt32LE(crc, 16);
    cdh.writeUInt32LE(z64 ? 0xffffffff : csize, 20);
    cdh.writeUInt32LE(z64 ? 0xffffffff : size, 24);
    cdh.writeUInt16LE(name.length, 28);
    cdh.writeUInt16LE(extra.length, 30);
    cdh.writeUInt32LE(z64 ? 0xffffffff : entryOffset, 42);
    central.push(cdh, name, extra);
    if (e.aliasOf === undefined) offset += 30 + localName.length + body.length + (e.descriptor ? 16 : 0);
  }
  const cd = Buffer.concat(central);
  const cdOffset = offset;
  chunks.push(cd);
  if (z64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(entries.length), 24);
    rec.writeBigUInt64LE(BigInt(entries.length), 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(cdOffset + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    chunks.push(rec, loc);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(z64 ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(z64 ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(z64 ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(z64 ? 0xffffffff : cdOffset, 16);
  chunks.push(eocd);
  return new Uint8Array(Buffer.concat(chunks));
}
