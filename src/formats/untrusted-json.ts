import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { parseStrictJson } from './strict-json.js';

/**
 * Reading small JSON documents written by someone else (signatures, envelopes, digests lists).
 * Duplicate keys are refused, not resolved: two verifiers that pick different duplicates would
 * disagree about what was signed. The value comes back from JSON.parse (plain objects, where
 * `__proto__` is an own data property); read it with `own()`.
 */
export type UntrustedJson = { ok: true; value: unknown } | { ok: false; error: string };

export function parseUntrustedJson(text: string): UntrustedJson {
  const strict = parseStrictJson(text, { maxDepth: 64 });
  if (!strict.ok) return { ok: false, error: `not valid JSON (${strict.error} at offset ${strict.position})` };
  const dup = strict.duplicates[0];
  if (dup) return { ok: false, error: `duplicate key ${JSON.stringify(dup.key)} in ${dup.path}` };
  return { ok: true, value: JSON.parse(text) as unknown };
}

export type ReadResult = { ok: true; bytes: Buffer } | { ok: false; error: string; code?: string };

/** Read a whole regular file up to `maxBytes`, without following a final symlink into a FIFO. */
export async function readSmallFile(file: string, maxBytes: number): Promise<ReadResult> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, error: `cannot read (${e.code ?? e.message})`, ...(e.code ? { code: e.code } : {}) };
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { ok: false, error: 'not a regular file' };
    if (st.size > maxBytes) return { ok: false, error: `${st.size} bytes is more than the ${maxBytes}-byte limit` };
    const bytes = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const { bytesRead } = await fh.read(bytes, off, st.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return { ok: true, bytes: bytes.subarray(0, off) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, error: `cannot read (${e.code ?? e.message})` };
  } finally {
    await fh.close();
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}
