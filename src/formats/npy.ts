import { NPY_MAGIC } from './sniff.js';

/**
 * The header of a NumPy `.npy` file (format versions 1.0–3.0): magic, version, header length, and a
 * Python dict literal `{'descr': ..., 'fortran_order': ..., 'shape': ...}`. What matters for safety
 * is the dtype: an object dtype (`O`, alone or inside a structured dtype) means the array data is a
 * pickle, which `numpy.load(..., allow_pickle=True)` unpickles.
 */

export type NpyHeader =
  | { ok: true; version: string; descr: string; objectDtype: boolean; dataOffset: number }
  | { ok: false; error: string };

/** numpy refuses headers past this (`_MAX_HEADER_SIZE`); a larger one is not a file numpy reads. */
const MAX_HEADER = 10_000;

export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  if (bytes.length < 10 || !NPY_MAGIC.every((v, i) => bytes[i] === v)) return { ok: false, error: 'no NumPy magic' };
  const major = bytes[6] as number;
  const minor = bytes[7] as number;
  if (major < 1 || major > 3) return { ok: false, error: `unknown .npy format version ${major}.${minor}` };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) return { ok: false, error: 'truncated header length' };
  const len = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = 8 + lenBytes;
  if (len > MAX_HEADER) return { ok: false, error: `header of ${len} bytes exceeds numpy's limit` };
  if (start + len > bytes.length) return { ok: false, error: 'header runs past the end of the file' };
  const raw = bytes.subarray(start, start + len);
  const text = major === 3 ? new TextDecoder('utf-8').decode(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
  const m = /['"]descr['"]\s*:\s*/.exec(text);
  if (!m) return { ok: false, error: 'header has no descr' };
  const descr = descrLiteral(text.slice(m.index + m[0].length));
  // Type strings are quoted: '|O', 'O', '<O8', or inside a structured list [('a', '<i4'), ('b', '|O')].
  const objectDtype = /['"][|<>=]?O\d*['"]/.test(descr);
  return { ok: true, version: `${major}.${minor}`, descr, objectDtype, dataOffset: start + len };
}

/** The literal after `'descr':`: a quoted string, or a bracketed list up to its matching bracket. */
function descrLiteral(s: string): string {
  if (s[0] === "'" || s[0] === '"') {
    const end = s.indexOf(s[0], 1);
    return end < 0 ? s : s.slice(0, end + 1);
  }
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') {
      depth--;
      if (depth === 0) return s.slice(0, i + 1);
    }
  }
  return s;
}
