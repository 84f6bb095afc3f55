import { inflateRawSync } from 'node:zlib';
import type { ByteSource } from './byte-source.js';

/**
 * A minimal, bounded ZIP central-directory reader: just enough to find the pickles inside a
 * `torch.save` archive without trusting a general-purpose unzip library with hostile input. Every
 * size and offset is checked against the file before anything is allocated, and nothing is
 * extracted to disk. Supports ZIP64 (torch writes it for large checkpoints), stored and deflated
 * entries; rejects multi-disk and encrypted archives.
 */

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export interface ZipLimits {
  maxEntries?: number;
  maxDirectoryBytes?: number;
}

export type ZipDirectory = { ok: true; entries: ZipEntry[]; warnings: string[] } | { ok: false; error: string };

export type ZipEntryData = { ok: true; data: Uint8Array; truncated: boolean } | { ok: false; error: string; unsupported: boolean };

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;
const MAX_COMMENT = 0xffff;

export const ZIP_MAGIC = Uint8Array.from([0x50, 0x4b, 0x03, 0x04]);
export const ZIP_EMPTY_MAGIC = Uint8Array.from([0x50, 0x4b, 0x05, 0x06]);

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
  if (size < 22) return { ok: false, error: 'too short to be a ZIP archive' };

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
  if (eocd < 0) return { ok: false, error: 'no end-of-central-directory record' };
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
      if (z64At + 56 > locAt) return { ok: false, error: 'ZIP64 end-of-central-directory record out of bounds' };
      const z = await src.read(z64At, 56);
      const zv = dv(z);
      if (z.length < 56 || zv.getUint32(0, true) !== ZIP64_EOCD_SIG) return { ok: false, error: 'bad ZIP64 end-of-central-directory record' };
      if (zv.getUint32(16, true) !== 0 || zv.getUint32(20, true) !== 0) return { ok: false, error: 'multi-disk ZIP archives are not supported' };
      entriesOnDisk = u64(zv, 24);
      total = u64(zv, 32);
      cdSize = u64(zv, 40);
      cdOffset = u64(zv, 48);
      dirEnd = z64At;
    } else if (saturated) {
      return { ok: false, error: 'ZIP64 markers without a ZIP64 locator' };
    }
  }
  if (disk !== 0 || cdDisk !== 0 || entriesOnDisk !== total) return { ok: false, error: 'multi-disk ZIP archives are not supported' };
  if (total > maxEntries) return { ok: false, error: `${total} entries exceed the cap of ${maxEntries}` };
  if (cdSize > maxDirBytes) return { ok: false, error: `central directory of ${cdSize} bytes exceeds the cap of ${maxDirBytes}` };
  if (cdOffset + cdSize > dirEnd) return { ok: false, error: 'central directory runs past its end record' };

  const cd = await src.read(cdOffset, cdSize);
  if (cd.length !== cdSize) return { ok: false, error: 'central directory truncated' };
  const cv = dv(cd);
  const entries: ZipEntry[] = [];
  const warnings: string[] = [];
  let p = 0;
  while (entries.length < total) {
    if (p + 46 > cd.length || cv.getUint32(p, true) !== CDH_SIG) return { ok: false, error: `bad central directory header at entry ${entries.length}` };
    const flags = cv.getUint16(p + 8, true);
    const method = cv.getUint16(p + 10, true);
    let compressedSize = cv.getUint32(p + 20, true);
    let uncompressedSize = cv.getUint32(p + 24, true);
    const nameLen = cv.getUint16(p + 28, true);
    const extraLen = cv.getUint16(p + 30, true);
    const commentLen = cv.getUint16(p + 32, true);
    let localHeaderOffset = cv.getUint32(p + 42, true);
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > cd.length) return { ok: false, error: `central directory entry ${entries.length} runs past the directory` };
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
    if (localHeaderOffset + 30 > cdOffset) return { ok: false, error: `entry ${JSON.stringify(name)} starts past the central directory` };
    entries.push({ name, method, flags, compressedSize, uncompressedSize, localHeaderOffset });
    p = next;
  }
  if (p !== cd.length) warnings.push(`${cd.length - p} unexplained bytes in the central directory`);
  return { ok: true, entries, warnings };
}

/**
 * Reads (and for deflate, inflates) at most `maxBytes` of an entry. Stored entries larger than that
 * return a truncated prefix; deflated ones larger than that fail, since a bounded inflate cannot
 * return a partial result.
 */
export async function readZipEntry(src: ByteSource, entry: ZipEntry, maxBytes: number): Promise<ZipEntryData> {
  if (entry.flags & 0x1) return { ok: false, error: 'entry is encrypted', unsupported: true };
  if (entry.method !== 0 && entry.method !== 8) return { ok: false, error: `compression method ${entry.method} is not supported`, unsupported: true };
  const lfh = await src.read(entry.localHeaderOffset, 30);
  const lv = dv(lfh);
  if (lfh.length < 30 || lv.getUint32(0, true) !== LFH_SIG) return { ok: false, error: 'bad local file header', unsupported: false };
  const nameLen = lv.getUint16(26, true);
  const extraLen = lv.getUint16(28, true);
  const localName = decodeName(await src.read(entry.localHeaderOffset + 30, nameLen), entry.flags);
  // Readers that trust the local header and ones that trust the central directory must see the same file.
  if (localName !== entry.name) {
    return { ok: false, error: 'local header name differs from the central directory', unsupported: false };
  }
  const dataAt = entry.localHeaderOffset + 30 + nameLen + extraLen;
  if (dataAt + entry.compressedSize > src.size) return { ok: false, error: 'entry data runs past the end of the file', unsupported: false };
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.uncompressedSize) return { ok: false, error: 'stored entry with differing sizes', unsupported: false };
    const n = Math.min(entry.compressedSize, maxBytes);
    return { ok: true, data: await src.read(dataAt, n), truncated: n < entry.compressedSize };
  }
  if (entry.compressedSize > maxBytes) return { ok: false, error: `compressed entry of ${entry.compressedSize} bytes exceeds the scan cap`, unsupported: true };
  const packed = await src.read(dataAt, entry.compressedSize);
  try {
    return { ok: true, data: inflateRawSync(packed, { maxOutputLength: maxBytes }), truncated: false };
  } catch (err) {
    const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError;
    return { ok: false, error: tooBig ? `inflates past the ${maxBytes}-byte scan cap` : `inflate failed (${(err as Error).message})`, unsupported: tooBig };
  }
}
