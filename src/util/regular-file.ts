import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';

/**
 * The one way trigger-scan opens a file it did not write: a pack, a report, an attestation, a key,
 * the pin file, any file of a model folder. Opening a FIFO for reading blocks until a writer shows
 * up and reading a device never ends, so the file is opened non-blocking and its type checked on
 * the open handle (no window between a check and the open) before a byte is read.
 *
 * Failures are thrown as errors with a `code` (`ENOTREG` for anything that is not a regular file,
 * `ELOOP` for a refused symlink, `EFBIG` for a file over the caller's size cap, or the fs code);
 * `describeOpenError` turns one into the words of a one-line message.
 */

export interface OpenRegularOptions {
  /** Refuse a final-component symlink (model-folder files): the caller walks the folder itself. */
  noFollow?: boolean;
}

export interface RegularFile {
  fh: FileHandle;
  stats: Stats;
}

export type OpenError = Error & { code: string };

function openError(code: string, message: string): OpenError {
  return Object.assign(new Error(message), { code });
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'a special file';
}

export async function openRegularFile(file: string, opts: OpenRegularOptions = {}): Promise<RegularFile> {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (opts.noFollow ? constants.O_NOFOLLOW : 0);
  const fh = await open(file, flags);
  try {
    const stats = await fh.stat();
    if (!stats.isFile()) throw openError('ENOTREG', kindOf(stats));
    return { fh, stats };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/** Reads in a loop: a single `read` may return short on network filesystems or a file being truncated. */
export async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** The whole of a regular file of at most `maxBytes`; the size is checked before anything is allocated. */
export async function readRegularFile(file: string, maxBytes: number, opts: OpenRegularOptions = {}): Promise<Buffer> {
  const { fh, stats } = await openRegularFile(file, opts);
  try {
    if (stats.size > maxBytes) throw openError('EFBIG', `is ${stats.size} bytes, over the ${maxBytes}-byte limit`);
    return await readAt(fh, 0, stats.size);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** The words after "<file>: " for a failed open or read: "is a FIFO, not a regular file", "not found", ... */
export function describeOpenError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOTREG':
      return `is ${e.message}, not a regular file; refusing to read it`;
    case 'EFBIG':
      return e.message;
    case 'ELOOP':
      return 'is a symlink; refusing to follow it';
    case 'EISDIR':
      return 'is a folder, not a regular file';
    default:
      return `cannot read (${e.code ?? e.message})`;
  }
}
