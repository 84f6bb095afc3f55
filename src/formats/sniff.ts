/**
 * What a file is, from its first bytes. Names lie: a torch archive works as `model.weights`, a
 * pickle as `tokenizer.model`, so every file of a model folder is classified by its magic bytes
 * and checked as what it is.
 */

export type FileKind =
  | 'zip'
  | 'pickle'
  | 'npy'
  | 'safetensors'
  /** An archive or compressed stream we cannot open (7z, RAR, gzip, ...): its contents are unverifiable. */
  | 'unopenable-archive'
  | 'other';

export interface Sniffed {
  kind: FileKind;
  /** The format's name for messages, e.g. `7z` or `gzip`. */
  format: string;
}

/** Bytes `sniff` wants to see (tar's magic sits at offset 257). */
export const SNIFF_BYTES = 512;

const at = (b: Uint8Array, offset: number, magic: readonly number[]): boolean => b.length >= offset + magic.length && magic.every((v, i) => b[offset + i] === v);
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

const UNOPENABLE: readonly { format: string; offset: number; magic: number[] }[] = [
  { format: '7z', offset: 0, magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  { format: 'RAR', offset: 0, magic: ascii('Rar!\x1a\x07') },
  { format: 'gzip', offset: 0, magic: [0x1f, 0x8b] },
  { format: 'bzip2', offset: 0, magic: ascii('BZh') },
  { format: 'xz', offset: 0, magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { format: 'zstd', offset: 0, magic: [0x28, 0xb5, 0x2f, 0xfd] },
  { format: 'lz4', offset: 0, magic: [0x04, 0x22, 0x4d, 0x18] },
  { format: 'lzip', offset: 0, magic: ascii('LZIP') },
  { format: 'cab', offset: 0, magic: ascii('MSCF') },
  { format: 'tar', offset: 257, magic: ascii('ustar') },
];

export const ZIP_LOCAL_MAGIC: readonly number[] = [0x50, 0x4b, 0x03, 0x04];
const ZIP_MAGICS: readonly number[][] = [ZIP_LOCAL_MAGIC as number[], [0x50, 0x4b, 0x05, 0x06], [0x50, 0x4b, 0x07, 0x08]];
export const NPY_MAGIC: readonly number[] = [0x93, ...ascii('NUMPY')];

export function sniff(head: Uint8Array): Sniffed {
  if (ZIP_MAGICS.some((m) => at(head, 0, m))) return { kind: 'zip', format: 'ZIP' };
  if (at(head, 0, NPY_MAGIC)) return { kind: 'npy', format: 'NumPy .npy' };
  // PROTO with a protocol the unpickler accepts; protocols 0 and 1 have no header (see looksLikePickle).
  if (head[0] === 0x80 && head.length > 1 && (head[1] as number) <= 5) return { kind: 'pickle', format: `pickle protocol ${head[1]}` };
  for (const u of UNOPENABLE) if (at(head, u.offset, u.magic)) return { kind: 'unopenable-archive', format: u.format };
  if (head.length >= 9) {
    // safetensors: an 8-byte little-endian header length, then the JSON header.
    const n = new DataView(head.buffer, head.byteOffset, head.byteLength).getBigUint64(0, true);
    if (n > 1n && n < 100_000_001n && head[8] === 0x7b) return { kind: 'safetensors', format: 'safetensors' };
  }
  return { kind: 'other', format: 'data' };
}
