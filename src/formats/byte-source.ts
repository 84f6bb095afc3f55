import { openRegularFile, readAt } from '../util/regular-file.js';
import type { OpenRegularOptions } from '../util/regular-file.js';

/**
 * Positioned reads over a file or an in-memory buffer, so parsers of hostile formats never need
 * the whole file in memory and can be fuzzed on buffers without touching the disk.
 */
export interface ByteSource {
  readonly size: number;
  /** Exactly `length` bytes at `position`, or fewer only when the source ends first. */
  read(position: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: async (position, length) => bytes.subarray(Math.min(position, bytes.length), Math.min(position + length, bytes.length)),
    close: async () => {},
  };
}

/** `length` bytes of `src` from `offset` as a source of their own (a stored archive entry); closing it leaves `src` open. */
export function subSource(src: ByteSource, offset: number, length: number): ByteSource {
  const size = Math.max(0, Math.min(length, src.size - offset));
  return {
    size,
    read: (position, n) => src.read(offset + Math.min(position, size), Math.max(0, Math.min(n, size - position))),
    close: async () => {},
  };
}


/**
 * Opens a regular file for positioned reads. Throws the open error (callers turn it into a
 * finding or a UserError); refuses non-regular files because reading a FIFO or device can hang.
 */
export async function fileSource(file: string, opts: OpenRegularOptions = {}): Promise<ByteSource> {
  const { fh, stats } = await openRegularFile(file, opts);
  const size = stats.size;
  return {
    size,
    read: (position, length) => readAt(fh, position, Math.max(0, Math.min(length, size - position))),
    close: () => fh.close(),
  };
}
