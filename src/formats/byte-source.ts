import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

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

/** Reads in a loop: a single `read` may return short on pipes, network filesystems or a file being truncated. */
export async function readFully(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/**
 * Opens a regular file for positioned reads. Throws the raw fs error (callers turn it into a
 * finding or a UserError); refuses non-regular files because reading a FIFO or device can hang.
 */
export async function fileSource(file: string): Promise<ByteSource> {
  // O_NONBLOCK: opening a FIFO for reading would otherwise block until a writer appears.
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    const size = st.size;
    return {
      size,
      read: (position, length) => readFully(fh, position, Math.max(0, Math.min(length, size - position))),
      close: () => fh.close(),
    };
  } catch (err) {
    await fh.close();
    throw err;
  }
}
