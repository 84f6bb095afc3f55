import { constants as zc, inflateRawSync } from 'node:zlib';
import { crc32 } from '../util/crc32.js';
import type { ByteSource } from './byte-source.js';

/**
 * A minimal, bounded ZIP reader: just enough to look inside a `torch.save` archive (or any ZIP in
 * a model folder) without trusting a general-purpose unzip library with hostile input. Every size
 * and offset is checked against the file before anything is allocated, and nothing is extracted
 * to disk. Supports ZIP64 (torch writes it for large checkpoints), stored and deflated entries.
 *
 * Two readers of one archive must see the same files, so anything on which ZIP readers can
 * disagree is an error here, not a warning: the central directory against each local header
 * (name, method, flags, CRC, sizes), entries whose bytes overlap, bytes in the directory no entry
 * explains, data that inflates to another size or CRC than declared. Encrypted, strongly encrypted
 * and patched entries, and compression methods other than stored and deflate, cannot be checked
 * and say so (`unverifiable`).
 */

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/** Why an entry cannot be read: we cannot check it at all, or its records contradict each other. */
export type ZipProblem = 'unverifiable' | 'inconsistent';

/** General-purpose flag bits: encrypted, data descriptor, compressed patched data, strong encryption, UTF-8 names. */
export const ZIP_FLAG = { encrypted: 0x1, dataDescriptor: 0x8, patched: 0x20, strongEncryption: 0x40, utf8: 0x800, maskedDirectory: 0x2000 } as const;

export interface ZipLimits {
  maxEntries?: number;
  maxDirectoryBytes?: number;
}

export type ZipDirectory = { ok: true; entries: ZipEntry[]; directoryOffset: number } | { ok: false; error: string; problem: ZipProblem };

export type ZipEntryData = { ok: true; data: Uint8Array; truncated: boolean } | { ok: false; error: string; problem: ZipProblem };

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;
const MAX_COMMENT = 0xffff;


function decodeName(b: Uint8Array, flags: number): string {
  // Bit 11 means UTF-8; otherwise CP437, which agrees with latin-1 on the ASCII names torch writes.
  return flags & 0x800 ? new TextDecoder('utf-8').decode(b) : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u64(view: DataView, at: number): number {
  const v = view.getBigUint64(at, true);
  // Anything past 2^53 cannot be a real offset in a file we can read; make it fail the bounds checks.
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

export async function readZipDirectory(src: ByteSource, limits: ZipLimits = {}): Promise<ZipDirectory> {
  const maxEntries = limits.maxEntries ?? 200_000;
  const maxDirBytes = limits.maxDirectoryBytes ?? 64 * 1024 * 1024;
  const size = src.size;
  if (size < 22) return { ok: false, error: 'too short to be a ZIP archive', problem: 'inconsistent' };

  const tailLen = Math.min(size, 22 + MAX_COMMENT);
  const tailStart = size - tailLen;
  const tail = await src.read(tailStart, tailLen);
  const tv = dv(tail);
  // The end-of-central-directory record is the last signature whose comment reaches exactly to EOF.
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === EOCD_SIG && i + 22 + tv.getUint16(i + 20, true) === tail.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return { ok: false, error: 'no end-of-central-directory record', problem: 'inconsistent' };
  const disk = tv.getUint16(eocd + 4, true);
  const cdDisk = tv.getUint16(eocd + 6, true);
  let entriesOnDisk = tv.getUint16(eocd + 8, true);
  let total = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  const eocdAbs = tailStart + eocd;
  let dirEnd = eocdAbs;

  const saturated = total === 0xffff || entriesOnDisk === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff;
  // Writers may emit ZIP64 records even when nothing is saturated; when a locator is there, it wins.
  if (saturated || eocdAbs >= 20) {
    const locAt = eocdAbs - 20;
    const loc = locAt >= 0 ? await src.read(locAt, 20) : new Uint8Array(0);
    if (loc.length === 20 && dv(loc).getUint32(0, true) === ZIP64_LOCATOR_SIG) {
      const z64At = u64(dv(loc), 8);
      if (z64At + 56 > locAt) return { ok: false, error: 'ZIP64 end-of-central-directory record out of bounds', problem: 'inconsistent' };
      const z = await src.read(z64At, 56);
      const zv = dv(z);
      if (z.length < 56 || zv.getUint32(0, true) !== ZIP64_EOCD_SIG) return { ok: false, error: 'bad ZIP64 end-of-central-directory record', problem: 'inconsistent' };
      if (zv.getUint32(16, true) !== 0 || zv.getUint32(20, true) !== 0) return { ok: false, error: 'multi-disk ZIP archives are not supported', problem: 'unverifiable' };
      entriesOnDisk = u64(zv, 24);
      total = u64(zv, 32);
      cdSize = u64(zv, 40);
      cdOffset = u64(zv, 48);
      dirEnd = z64At;
    } else if (saturated) {
      return { ok: false, error: 'ZIP64 markers without a ZIP64 locator', problem: 'inconsistent' };
    }
  }
  if (disk !== 0 || cdDisk !== 0 || entriesOnDisk !== total) return { ok: false, error: 'multi-disk ZIP archives are not supported', problem: 'unverifiable' };
  if (total > maxEntries) return { ok: false, error: `${total} entries exceed the cap of ${maxEntries}`, problem: 'unverifiable' };
  if (cdSize > maxDirBytes) return { ok: false, error: `central directory of ${cdSize} bytes exceeds the cap of ${maxDirBytes}`, problem: 'unverifiable' };
  if (cdOffset + cdSize > dirEnd) return { ok: false, error: 'central directory runs past its end record', problem: 'inconsistent' };

  const cd = await src.read(cdOffset, cdSize);
  if (cd.length !== cdSize) return { ok: false, error: 'central directory truncated', problem: 'inconsistent' };
  const cv = dv(cd);
  const entries: ZipEntry[] = [];
  let p = 0;
  while (entries.length < total) {
    if (p + 46 > cd.length || cv.getUint32(p, true) !== CDH_SIG) return { ok: false, error: `bad central directory header at entry ${entries.length}`, problem: 'inconsistent' };
    const flags = cv.getUint16(p + 8, true);
    const method = cv.getUint16(p + 10, true);
    const crc = cv.getUint32(p + 16, true);
    let compressedSize = cv.getUint32(p + 20, true);
    let uncompressedSize = cv.getUint32(p + 24, true);
    const nameLen = cv.getUint16(p + 28, true);
    const extraLen = cv.getUint16(p + 30, true);
    const commentLen = cv.getUint16(p + 32, true);
    let localHeaderOffset = cv.getUint32(p + 42, true);
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > cd.length) return { ok: false, error: `central directory entry ${entries.length} runs past the directory`, problem: 'inconsistent' };
    const nameBytes = cd.subarray(p + 46, p + 46 + nameLen);
    const name = decodeName(nameBytes, flags);
    // ZIP64 extra field: only the fields whose 32-bit slot is saturated are present, in this order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = cv.getUint16(e, true);
      const len = cv.getUint16(e + 2, true);
      if (e + 4 + len > extraEnd) break;
      if (id === 0x0001) {
        let f = e + 4;
        const take = (): number | undefined => {
          if (f + 8 > e + 4 + len) return undefined;
          const v = u64(cv, f);
          f += 8;
          return v;
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = take() ?? uncompressedSize;
        if (compressedSize === 0xffffffff) compressedSize = take() ?? compressedSize;
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take() ?? localHeaderOffset;
      }
      e += 4 + len;
    }
    if (localHeaderOffset + 30 > cdOffset) return { ok: false, error: `entry ${JSON.stringify(name)} starts past the central directory`, problem: 'inconsistent' };
    entries.push({ name, method, flags, crc32: crc, compressedSize, uncompressedSize, localHeaderOffset });
    p = next;
  }
  // A reader that walks the directory by its size rather than by the entry count would see more.
  if (p !== cd.length) return { ok: false, error: `${cd.length - p} bytes in the central directory belong to no entry`, problem: 'inconsistent' };
  return { ok: true, entries, directoryOffset: cdOffset };
}

/** Why an entry's own flags or method put it beyond checking, if they do. */
export function unverifiableReason(entry: ZipEntry): string | undefined {
  if (entry.flags & (ZIP_FLAG.encrypted | ZIP_FLAG.strongEncryption)) return entry.flags & ZIP_FLAG.strongEncryption ? 'entry uses strong encryption' : 'entry is encrypted';
  if (entry.flags & ZIP_FLAG.patched) return 'entry holds compressed patched data';
  if (entry.flags & ZIP_FLAG.maskedDirectory) return 'entry has a masked (encrypted) directory record';
  if (entry.method !== 0 && entry.method !== 8) return `compression method ${entry.method} is not supported`;
  return undefined;
}

/** Flags that change how the data is read or named; the local header must agree on these. */
const AGREEING_FLAGS = ZIP_FLAG.encrypted | ZIP_FLAG.dataDescriptor | ZIP_FLAG.patched | ZIP_FLAG.strongEncryption | ZIP_FLAG.utf8;

export type LocalHeader = { ok: true; dataOffset: number } | { ok: false; error: string; problem: ZipProblem };

/**
 * Reads an entry's local header and checks it against the central directory. With a data
 * descriptor (bit 3, which torch sets) the local CRC and sizes may be zero; otherwise they must
 * equal the directory's (a ZIP64 local header saturates them to 0xffffffff).
 */
export async function readLocalHeader(src: ByteSource, entry: ZipEntry): Promise<LocalHeader> {
  const bad = (error: string): LocalHeader => ({ ok: false, error, problem: 'inconsistent' });
  const lfh = await src.read(entry.localHeaderOffset, 30);
  const lv = dv(lfh);
  if (lfh.length < 30 || lv.getUint32(0, true) !== LFH_SIG) return bad('bad local file header');
  const flags = lv.getUint16(6, true);
  const method = lv.getUint16(8, true);
  const nameLen = lv.getUint16(26, true);
  const extraLen = lv.getUint16(28, true);
  const localName = decodeName(await src.read(entry.localHeaderOffset + 30, nameLen), flags);
  // Readers that trust the local header and ones that trust the central directory must see the same file.
  if (localName !== entry.name) return bad('local header name differs from the central directory');
  if (method !== entry.method) return bad(`local header says compression method ${method}, the central directory ${entry.method}`);
  if ((flags & AGREEING_FLAGS) !== (entry.flags & AGREEING_FLAGS)) return bad(`local header flags 0x${flags.toString(16)} differ from the central directory's 0x${entry.flags.toString(16)}`);
  const fields: [string, number, number][] = [
    ['CRC', lv.getUint32(14, true), entry.crc32],
    ['compressed size', lv.getUint32(18, true), entry.compressedSize],
    ['size', lv.getUint32(22, true), entry.uncompressedSize],
  ];
  for (const [what, local, central] of fields) {
    const deferred = flags & ZIP_FLAG.dataDescriptor && local === 0;
    const zip64 = what !== 'CRC' && local === 0xffffffff;
    if (!deferred && !zip64 && local !== central) return bad(`local header ${what} ${local} differs from the central directory's ${central}`);
  }
  const dataOffset = entry.localHeaderOffset + 30 + nameLen + extraLen;
  if (dataOffset + entry.compressedSize > src.size) return bad('entry data runs past the end of the file');
  return { ok: true, dataOffset };
}

/**
 * Entries whose [local header, end of data) ranges overlap: the trick behind non-recursive zip
 * bombs, and a way to make two names mean the same bytes. Needs each entry's data offset.
 */
export function overlappingEntries(entries: readonly { entry: ZipEntry; dataOffset: number }[], directoryOffset: number): string | undefined {
  const spans = entries.map((e) => ({ name: e.entry.name, start: e.entry.localHeaderOffset, end: e.dataOffset + e.entry.compressedSize })).sort((a, b) => a.start - b.start);
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i] as (typeof spans)[0];
    const next = spans[i + 1];
    if (next && next.start < s.end) return `entries ${JSON.stringify(s.name)} and ${JSON.stringify(next.name)} share bytes`;
    if (s.end > directoryOffset) return `entry ${JSON.stringify(s.name)} runs into the central directory`;
  }
  return undefined;
}

/**
 * Reads (and for deflate, inflates) at most `maxBytes` of an entry, after `readLocalHeader`. A
 * stored entry larger than that returns a truncated prefix. A deflated one larger than that is
 * `unverifiable` (a bounded inflate cannot return a partial result), unless `prefixOnly`, which
 * inflates just enough for a look at its first bytes. Whatever is read whole is checked against
 * the declared size and CRC.
 */
export async function readZipEntry(src: ByteSource, entry: ZipEntry, maxBytes: number, opts: { dataOffset?: number; prefixOnly?: boolean } = {}): Promise<ZipEntryData> {
  const why = unverifiableReason(entry);
  if (why) return { ok: false, error: why, problem: 'unverifiable' };
  let dataAt = opts.dataOffset;
  if (dataAt === undefined) {
    const lh = await readLocalHeader(src, entry);
    if (!lh.ok) return lh;
    dataAt = lh.dataOffset;
  }
  const lying = (error: string): ZipEntryData => ({ ok: false, error, problem: 'inconsistent' });
  const checked = (data: Uint8Array): ZipEntryData => {
    if (data.length !== entry.uncompressedSize) return lying(`holds ${data.length} bytes but declares ${entry.uncompressedSize}`);
    if (crc32(data) !== entry.crc32) return lying('CRC does not match its data');
    return { ok: true, data, truncated: false };
  };
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.uncompressedSize) return lying('stored entry with differing sizes');
    if (entry.compressedSize > maxBytes) return { ok: true, data: await src.read(dataAt, maxBytes), truncated: true };
    return checked(await src.read(dataAt, entry.compressedSize));
  }
  if (entry.uncompressedSize > maxBytes || entry.compressedSize > maxBytes) {
    if (!opts.prefixOnly) return { ok: false, error: `declares ${entry.uncompressedSize} bytes, past the ${maxBytes}-byte scan cap`, problem: 'unverifiable' };
    // Enough compressed input for a look at the first bytes; SYNC_FLUSH returns what it has so
    // far. 1 KiB inflates to at most about 1 MiB (deflate's ratio is ~1032:1).
    const head = await src.read(dataAt, Math.min(entry.compressedSize, 1024));
    try {
      return { ok: true, data: inflateRawSync(head, { finishFlush: zc.Z_SYNC_FLUSH, maxOutputLength: 2 * 1024 * 1024 }), truncated: true };
    } catch (err) {
      return lying(`inflate failed (${(err as Error).message})`);
    }
  }
  const packed = await src.read(dataAt, entry.compressedSize);
  let data: Uint8Array;
  try {
    data = inflateRawSync(packed, { maxOutputLength: maxBytes });
  } catch (err) {
    const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError;
    // It declared a size under the cap: inflating past the cap is a lie (a zip bomb), not a limit.
    return lying(tooBig ? `inflates past the ${maxBytes}-byte scan cap though it declares ${entry.uncompressedSize} bytes` : `inflate failed (${(err as Error).message})`);
  }
  return checked(data);
}
