import { UserError } from '../errors.js';
import { describeOpenError, openRegularFile, readAt } from '../util/regular-file.js';
import { bufferSource, fileSource } from './byte-source.js';
import type { ByteSource } from './byte-source.js';
import { DTYPE_BITS, decodeTensor, isDecodable } from './dtypes.js';
import type { TensorData } from './dtypes.js';
import { finding } from './finding.js';
import type { Finding, Severity } from './finding.js';
import { isJsonObject, parseStrictJson } from './strict-json.js';
import type { JsonValue } from './strict-json.js';

/**
 * A hardened safetensors header reader. It enforces the reference crate's rules (see the notes in
 * shared/notes/provenance-anchors.md §3) because the known safetensors exploits all live in
 * re-implementations that trusted `data_offsets`, skipped unknown dtypes, or let duplicate keys
 * and unaccounted bytes through. Only the 8-byte length and the header are ever read here;
 * tensor bytes are read one tensor at a time on demand.
 */

export interface SafetensorsOptions {
  /** The reference crate's MAX_HEADER_SIZE; anything bigger is refused before allocating. */
  maxHeaderBytes?: number;
  /** A header under the size cap can still hold 100k dummy entries (a known DoS PoC). */
  maxTensors?: number;
  maxNameLength?: number;
}

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: readonly number[];
  /** Offsets relative to the start of the data region, as written in the header. */
  dataOffsets: readonly [number, number];
  /** Absolute position of the first byte in the file. */
  fileOffset: number;
  byteLength: number;
}

export interface SafetensorsInspection {
  file: string;
  fileSize: number;
  /** N from the 8-byte prefix, when it was readable and within bounds. */
  headerLength: number | undefined;
  /** True when every structural rule passed and `tensors` describes the whole file. */
  valid: boolean;
  findings: Finding[];
  /** Tensors in data order (by offset); complete only when `valid`. */
  tensors: TensorInfo[];
  metadata: Map<string, string>;
}

export const SAFETENSORS_DEFAULTS = { maxHeaderBytes: 100_000_000, maxTensors: 100_000, maxNameLength: 1024 } as const;

// Names that are harmless in a Map but pollute prototypes in readers that use plain objects.
const PROTOTYPE_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const ENTRY_KEYS = ['data_offsets', 'dtype', 'shape'];
const MAX_RANK = 64;
// Beyond 2^64 elements no file could hold the tensor; stopping there keeps BigInt products small.
const PRODUCT_CEILING = 1n << 64n;
const MAX_REPORTS_PER_RULE = 20;

/** Validate a safetensors file's header and layout. Never throws; I/O failures become findings. */
export async function inspectSafetensors(file: string, opts: SafetensorsOptions = {}): Promise<SafetensorsInspection> {
  let src: ByteSource;
  try {
    src = await fileSource(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const r = emptyInspection(file, 0);
    r.findings.push(finding('safetensors.unreadable', 'high', file, `${file}: cannot read (${e.code ?? e.message})`));
    return r;
  }
  try {
    return await inspectSource(file, src, opts);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const r = emptyInspection(file, src.size);
    r.findings.push(finding('safetensors.unreadable', 'high', file, `${file}: read failed (${e.code ?? e.message})`));
    return r;
  } finally {
    await src.close().catch(() => {});
  }
}

/** The same validation over bytes already in memory (tests, fuzzing, embedded files). */
export async function inspectSafetensorsBytes(bytes: Uint8Array, name: string, opts: SafetensorsOptions = {}): Promise<SafetensorsInspection> {
  return inspectSource(name, bufferSource(bytes), opts);
}

function emptyInspection(file: string, fileSize: number): SafetensorsInspection {
  return { file, fileSize, headerLength: undefined, valid: false, findings: [], tensors: [], metadata: new Map() };
}

async function inspectSource(file: string, src: ByteSource, opts: SafetensorsOptions): Promise<SafetensorsInspection> {
  const maxHeader = opts.maxHeaderBytes ?? SAFETENSORS_DEFAULTS.maxHeaderBytes;
  const r = emptyInspection(file, src.size);
  const add = (id: string, severity: Severity, message: string, detail?: Record<string, unknown>): void => {
    r.findings.push(finding(id, severity, file, `${file}: ${message}`, detail));
  };

  if (src.size < 8) {
    add('safetensors.too-small', 'high', `${src.size} bytes is shorter than the 8-byte header length`, { size: src.size });
    return r;
  }
  const prefix = await src.read(0, 8);
  const n = Buffer.from(prefix.buffer, prefix.byteOffset, 8).readBigUInt64LE(0);
  // Both bounds are checked before allocating anything of size N.
  if (n > BigInt(maxHeader)) {
    add('safetensors.header-too-large', 'high', `header length ${n} exceeds the ${maxHeader}-byte cap`, { headerLength: n.toString(), cap: maxHeader });
    return r;
  }
  if (n > BigInt(src.size - 8)) {
    add('safetensors.header-out-of-bounds', 'high', `header length ${n} runs past the end of the ${src.size}-byte file (truncated?)`, {
      headerLength: n.toString(),
      size: src.size,
    });
    return r;
  }
  const headerLength = Number(n);
  r.headerLength = headerLength;
  const headerBytes = await src.read(8, headerLength);
  if (headerBytes.length !== headerLength) {
    add('safetensors.header-out-of-bounds', 'high', `file ended while reading the ${headerLength}-byte header`);
    return r;
  }
  validateHeader(r, headerBytes, headerLength, opts, add);
  return r;
}

type Add = (id: string, severity: Severity, message: string, detail?: Record<string, unknown>) => void;

function validateHeader(r: SafetensorsInspection, headerBytes: Uint8Array, headerLength: number, opts: SafetensorsOptions, add: Add): void {
  const maxTensors = opts.maxTensors ?? SAFETENSORS_DEFAULTS.maxTensors;
  const maxName = opts.maxNameLength ?? SAFETENSORS_DEFAULTS.maxNameLength;
  let fatal = false;
  const bad: Add = (id, severity, message, detail) => {
    fatal = true;
    add(id, severity, message, detail);
  };

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    bad('safetensors.header-not-utf8', 'high', 'header is not valid UTF-8');
    return;
  }
  const parsed = parseStrictJson(text);
  for (const d of parsed.duplicates) bad('safetensors.duplicate-key', 'high', `duplicate key ${JSON.stringify(d.key)} at ${d.path} in the header (readers disagree on which wins)`, { ...d });
  if (!parsed.ok) {
    bad('safetensors.header-not-json', 'high', `header is not valid JSON: ${parsed.error} at character ${parsed.position}`, { error: parsed.error, position: parsed.position });
    return;
  }
  const top = parsed.value;
  if (!isJsonObject(top)) {
    bad('safetensors.header-not-object', 'high', 'header JSON is not an object');
    return;
  }
  const count = top.size - (top.has('__metadata__') ? 1 : 0);
  if (count > maxTensors) {
    bad('safetensors.too-many-tensors', 'high', `${count} tensors exceed the cap of ${maxTensors}`, { count, cap: maxTensors });
    return;
  }

  const dataLength = r.fileSize - 8 - headerLength;
  const counts = new Map<string, number>();
  const limited: Add = (id, severity, message, detail) => {
    const c = (counts.get(id) ?? 0) + 1;
    counts.set(id, c);
    if (c <= MAX_REPORTS_PER_RULE) bad(id, severity, message, detail);
    else fatal = true;
  };

  const placed: TensorInfo[] = [];
  for (const [name, entry] of top) {
    if (name === '__metadata__') {
      checkMetadata(entry, r.metadata, bad);
      continue;
    }
    if (name.length > maxName) limited('safetensors.name-too-long', 'high', `tensor name of ${name.length} characters exceeds the cap of ${maxName}`, { length: name.length });
    if (PROTOTYPE_NAMES.has(name)) add('safetensors.suspicious-name', 'medium', `tensor named ${showName(name)} targets JavaScript prototype pollution in naive readers`, { name });
    const info = checkEntry(name, entry, headerLength, limited, add);
    if (info) placed.push(info);
  }

  // Coverage: sorted by offsets the tensors must tile [0, dataLength) exactly. A gap is room for a
  // polyglot payload no loader looks at; an overlap means two tensors alias the same bytes.
  placed.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  let prev: TensorInfo | undefined;
  for (const t of placed) {
    const [begin, end] = t.dataOffsets;
    if (begin < cursor) {
      limited('safetensors.overlap', 'high', `tensor ${JSON.stringify(t.name)} at [${begin}, ${end}) overlaps ${JSON.stringify(prev?.name)} ending at ${cursor}`, {
        tensor: t.name,
        other: prev?.name,
        begin,
        end,
      });
    } else if (begin > cursor) {
      limited('safetensors.gap', 'high', `${begin - cursor} unaccounted bytes at data offset ${cursor} before tensor ${JSON.stringify(t.name)}`, {
        from: cursor,
        to: begin,
        tensor: t.name,
      });
    }
    if (end >= cursor) {
      cursor = end;
      prev = t;
    }
  }
  if (cursor < dataLength) {
    bad('safetensors.trailing-bytes', 'high', `${dataLength - cursor} bytes after the last tensor are not described by the header`, { from: cursor, dataLength });
  } else if (cursor > dataLength) {
    bad('safetensors.data-out-of-bounds', 'high', `tensors end at data offset ${cursor} but the file holds only ${dataLength} data bytes (truncated?)`, {
      end: cursor,
      dataLength,
    });
  }
  r.tensors = placed;
  r.valid = !fatal;
}

function checkMetadata(entry: JsonValue, out: Map<string, string>, bad: Add): void {
  if (!isJsonObject(entry)) {
    bad('safetensors.bad-metadata', 'high', '__metadata__ is not an object');
    return;
  }
  for (const [k, v] of entry) {
    if (typeof v !== 'string') {
      bad('safetensors.bad-metadata', 'high', `__metadata__ value for ${JSON.stringify(k)} is not a string`, { key: k });
      continue;
    }
    out.set(k, v);
  }
}

function toSafeInt(v: JsonValue | undefined): number | undefined {
  if (typeof v !== 'bigint' || v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(v);
}

/** Checks one tensor entry; returns its placement when the offsets are usable for coverage. */
function showName(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}

function checkEntry(name: string, entry: JsonValue, headerLength: number, bad: Add, note: Add): TensorInfo | undefined {
  if (!isJsonObject(entry)) {
    bad('safetensors.bad-entry', 'high', `entry ${showName(name)} is not an object`, { tensor: name });
    return undefined;
  }
  if (entry.size !== ENTRY_KEYS.length || !ENTRY_KEYS.every((k) => entry.has(k))) {
    const keys = [...entry.keys()].sort();
    bad('safetensors.bad-entry', 'high', `entry ${showName(name)} must have exactly dtype, shape, data_offsets (has ${keys.slice(0, 8).join(', ')})`, { tensor: name, keys: keys.slice(0, 8) });
  }
  const dtype = entry.get('dtype');
  const bits = typeof dtype === 'string' ? DTYPE_BITS.get(dtype) : undefined;
  if (bits === undefined) bad('safetensors.unknown-dtype', 'high', `entry ${showName(name)} has unknown dtype ${JSON.stringify(typeof dtype === 'string' ? dtype.slice(0, 40) : dtype === undefined ? null : String(dtype))}`, { tensor: name });

  const rawShape = entry.get('shape');
  let shape: number[] | undefined;
  if (Array.isArray(rawShape) && rawShape.length <= MAX_RANK) {
    const dims = rawShape.map(toSafeInt);
    if (dims.every((d): d is number => d !== undefined)) shape = dims;
  }
  if (!shape) bad('safetensors.bad-shape', 'high', `entry ${showName(name)} shape must be at most ${MAX_RANK} non-negative safe integers`, { tensor: name });

  const rawOffsets = entry.get('data_offsets');
  let offsets: [number, number] | undefined;
  if (Array.isArray(rawOffsets) && rawOffsets.length === 2) {
    const b = toSafeInt(rawOffsets[0]);
    const e = toSafeInt(rawOffsets[1]);
    if (b !== undefined && e !== undefined && b <= e) offsets = [b, e];
  }
  if (!offsets) bad('safetensors.bad-offsets', 'high', `entry ${showName(name)} data_offsets must be [begin, end] non-negative integers with begin <= end`, { tensor: name });

  if (shape && bits !== undefined && offsets) {
    let elements = 1n;
    for (const d of shape) {
      elements *= BigInt(d);
      if (elements > PRODUCT_CEILING) break;
    }
    const nbits = elements * BigInt(bits);
    const span = BigInt(offsets[1] - offsets[0]);
    if (nbits % 8n !== 0n || nbits / 8n !== span) {
      bad('safetensors.byte-count-mismatch', 'high', `entry ${showName(name)} is ${dtype as string}[${shape.join(', ')}] = ${nbits % 8n === 0n ? `${nbits / 8n} bytes` : `${nbits} bits`} but its offsets span ${span} bytes`, {
        tensor: name,
        expectedBits: nbits.toString(),
        span: Number(span),
      });
    }
    const width = bits / 8;
    if (Number.isInteger(width) && (8 + headerLength + offsets[0]) % width !== 0) {
      note('safetensors.misaligned', 'info', `entry ${showName(name)} starts at a file offset that is not a multiple of its ${width}-byte element size`, { tensor: name });
    }
  }
  if (!offsets) return undefined;
  return {
    name,
    dtype: typeof dtype === 'string' ? dtype : '',
    shape: shape ?? [],
    dataOffsets: offsets,
    fileOffset: 8 + headerLength + offsets[0],
    byteLength: offsets[1] - offsets[0],
  };
}

// ---------------------------------------------------------------------------------------------
// Opening for use

export interface OpenSafetensorsOptions extends SafetensorsOptions {
  /** Refuse single tensor reads above this (a typed array of it must fit in memory). */
  maxTensorBytes?: number;
}

export interface SafetensorsFile {
  readonly file: string;
  readonly fileSize: number;
  readonly metadata: ReadonlyMap<string, string>;
  /** In data (offset) order; a Map so names like `__proto__` stay plain data. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** Non-fatal findings (suspicious names, misalignment) from validation. */
  readonly findings: readonly Finding[];
  /** The tensor's raw little-endian bytes, read with one positioned read of just that range. */
  raw(name: string): Promise<Uint8Array>;
  /** The tensor decoded to a typed array; F16, BF16 and F8 widen to Float32Array, I64/U64 are BigInt arrays. */
  tensor(name: string): Promise<TensorData>;
}

/**
 * Validate a safetensors file and return a lazy accessor. Throws UserError when the file cannot be
 * read or fails validation: this is the "open for use" entry point, callers that want every
 * problem listed should use `inspectSafetensors`.
 */
export async function openSafetensors(file: string, opts: OpenSafetensorsOptions = {}): Promise<SafetensorsFile> {
  const r = await inspectSafetensors(file, opts);
  if (!r.valid) {
    const first = r.findings.find((f) => f.severity === 'high' || f.severity === 'critical') ?? r.findings[0];
    throw new UserError('E_SAFETENSORS', first ? `${first.message} [${first.id}]` : `${file}: invalid safetensors file`, file);
  }
  const maxTensorBytes = opts.maxTensorBytes ?? 2 ** 31;
  const byName = new Map<string, TensorInfo>();
  for (const t of r.tensors) byName.set(t.name, t);

  const raw = async (name: string): Promise<Uint8Array> => {
    const t = byName.get(name);
    if (!t) throw new UserError('E_SAFETENSORS_TENSOR', `${file}: no tensor named ${JSON.stringify(name)}`, file);
    if (t.byteLength > maxTensorBytes) throw new UserError('E_SAFETENSORS_TENSOR', `${file}: tensor ${JSON.stringify(name)} is ${t.byteLength} bytes, over the ${maxTensorBytes}-byte read cap`, file);
    let opened;
    try {
      opened = await openRegularFile(file);
    } catch (err) {
      throw new UserError('E_SAFETENSORS_TENSOR', `${file}: ${describeOpenError(err)}`, file);
    }
    try {
      // The layout was validated against this size; a file swapped or truncated since then is refused.
      if (opened.stats.size !== r.fileSize) throw new UserError('E_SAFETENSORS_TENSOR', `${file}: changed since it was validated (size ${opened.stats.size}, was ${r.fileSize})`, file);
      const bytes = await readAt(opened.fh, t.fileOffset, t.byteLength);
      if (bytes.length !== t.byteLength) throw new UserError('E_SAFETENSORS_TENSOR', `${file}: short read for tensor ${JSON.stringify(name)}`, file);
      return bytes;
    } finally {
      await opened.fh.close().catch(() => {});
    }
  };

  return {
    file,
    fileSize: r.fileSize,
    metadata: r.metadata,
    tensors: byName,
    findings: r.findings,
    raw,
    tensor: async (name) => {
      const t = byName.get(name);
      if (t && !isDecodable(t.dtype)) throw new UserError('E_SAFETENSORS_TENSOR', `${file}: tensor ${JSON.stringify(name)} has dtype ${t.dtype}, which cannot be decoded`, file);
      return decodeTensor(t?.dtype ?? '', await raw(name));
    },
  };
}
