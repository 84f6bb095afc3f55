import { describeOpenError, readRegularFile } from '../util/regular-file.js';
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

/** Read a whole regular file up to `maxBytes`; a FIFO, device or folder is refused without blocking. */
export async function readSmallFile(file: string, maxBytes: number): Promise<ReadResult> {
  try {
    return { ok: true, bytes: await readRegularFile(file, maxBytes) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, error: describeOpenError(err), ...(e.code ? { code: e.code } : {}) };
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
