import { UserError } from '../errors.js';
import { describeOpenError, readRegularFile } from '../util/regular-file.js';
import { decodeUtf8, parseUntrustedJson } from './untrusted-json.js';

/**
 * The JSON side files of a model folder (config.json, generation_config.json, tokenizer_config.json,
 * genai_config.json, tokenizer.json), read one way by everything that reads them: the loader of
 * `scan`, `hunt` and `inspect`, and the audit of `verify`. So what one command refuses, every
 * command refuses, with the same words.
 *
 * Config files are small and are parsed strictly: duplicate keys are refused (two readers would
 * disagree about the value), nesting is capped, the bytes must be UTF-8. tokenizer.json can be tens
 * of megabytes and is parsed like the tokenizer library parses it (duplicates keep the last), after
 * the same UTF-8 and nesting checks.
 */

export type SideFileKind = 'config' | 'tokenizer';

export const SIDE_FILE_LIMITS: Record<SideFileKind, { maxBytes: number; maxDepth: number }> = {
  config: { maxBytes: 64 * 1024 * 1024, maxDepth: 64 },
  tokenizer: { maxBytes: 256 * 1024 * 1024, maxDepth: 64 },
};

export type SideJson = { ok: true; value: unknown } | { ok: false; error: string };

/** Deepest nesting of arrays and objects, outside strings; stops counting past `cap`. */
function nesting(text: string, cap: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest) deepest = depth;
      if (deepest > cap) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/** Read and parse a side file; never throws. `error` is the text after "<file>: ". */
export async function readSideJson(file: string, kind: SideFileKind): Promise<SideJson> {
  const { maxBytes, maxDepth } = SIDE_FILE_LIMITS[kind];
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, maxBytes);
  } catch (err) {
    return { ok: false, error: describeOpenError(err) };
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) return { ok: false, error: 'is not valid UTF-8' };
  if (kind === 'config') {
    const r = parseUntrustedJson(text);
    return r.ok ? r : { ok: false, error: r.error.startsWith('not ') ? `is ${r.error}` : r.error };
  }
  if (nesting(text, maxDepth) > maxDepth) return { ok: false, error: `is not valid JSON (nesting deeper than ${maxDepth})` };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    // V8 quotes the text around the error; a message must not print the file's bytes.
    const why = ((err as Error).message.split('\n')[0] ?? '').replace(/, ".*" is not valid JSON$/, '');
    return { ok: false, error: `is not valid JSON (${why})` };
  }
}

/** The loaders' entry point: the parsed object, or a UserError naming the file. */
export async function readSideJsonObject(file: string, kind: SideFileKind): Promise<Record<string, unknown>> {
  const r = await readSideJson(file, kind);
  if (!r.ok) throw new UserError('E_JSON', `${file}: ${r.error}`, file);
  if (!r.value || typeof r.value !== 'object' || Array.isArray(r.value)) throw new UserError('E_JSON', `${file}: expected a JSON object`, file);
  return r.value as Record<string, unknown>;
}
