/**
 * Escape handling for trigger text.
 *
 * YAML double-quoted and JSON strings already decode `\u200b`; `text_escaped` exists for authors who prefer
 * plain or single-quoted YAML scalars, where a backslash is literal and an invisible-character trigger
 * would silently become six visible characters.
 */

export type DecodeResult = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly error: string };

export const ESCAPES_ALLOWED = String.raw`\uXXXX, \u{X...}, \xXX, \n, \r, \t, \0, \\`;

const SIMPLE: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', '0': '\0', '\\': '\\' };

export function decodeEscapes(input: string): DecodeResult {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (ch !== '\\') {
      out += ch;
      i += 1;
      continue;
    }
    const next = input[i + 1];
    if (next === undefined) return { ok: false, error: `dangling "\\" at the end; allowed escapes: ${ESCAPES_ALLOWED}` };
    const simple = SIMPLE[next];
    if (simple !== undefined) {
      out += simple;
      i += 2;
      continue;
    }
    let hex: string | undefined;
    let width: number;
    if (next === 'x') {
      hex = /^[0-9a-fA-F]{2}/.exec(input.slice(i + 2))?.[0];
      width = 2 + 2;
    } else if (next === 'u' && input[i + 2] === '{') {
      const m = /^\{([0-9a-fA-F]{1,6})\}/.exec(input.slice(i + 2));
      hex = m?.[1];
      width = 2 + (m?.[0].length ?? 0);
    } else if (next === 'u') {
      hex = /^[0-9a-fA-F]{4}/.exec(input.slice(i + 2))?.[0];
      width = 2 + 4;
    } else {
      return { ok: false, error: `unknown escape "\\${next}" at character ${i + 1}; allowed escapes: ${ESCAPES_ALLOWED}` };
    }
    if (hex === undefined) {
      return { ok: false, error: `malformed escape at character ${i + 1}; allowed escapes: ${ESCAPES_ALLOWED}` };
    }
    const cp = Number.parseInt(hex, 16);
    if (cp > 0x10ffff) return { ok: false, error: `code point U+${hex.toUpperCase()} at character ${i + 1} is beyond U+10FFFF` };
    out += String.fromCodePoint(cp);
    i += width;
  }
  return { ok: true, value: out };
}

// Pairs written as two \uXXXX escapes are fine; only unpaired halves cannot be encoded to UTF-8 for a tokenizer.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

/** Code points that are invisible or reorder text; shown escaped so an error message stays readable. */
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb]|[\ud800-\udfff]/gu;

/**
 * A one-line, quoted rendering of a value for error messages: invisible characters become `\u{...}` so the
 * reader can see what was actually loaded, and long values are cut.
 */
export function show(value: unknown, max = 60): string {
  if (typeof value === 'string') {
    const cut = value.length > max ? `${value.slice(0, max)}...` : value;
    const escaped = cut
      .replace(/\\/g, '\\\\')
      .replace(/"/g, '\\"')
      .replace(INVISIBLE, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);
    return `"${escaped}"`;
  }
  if (value === undefined) return 'nothing';
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  const text = json ?? String(value);
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

/** Describes a parsed YAML/JSON value's type the way a pack author thinks of it. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}

/** Text that looks like an escape sequence that was never decoded (single-quoted or plain YAML scalar). */
export function looksUndecoded(s: string): boolean {
  return /\\(?:u[0-9a-fA-F]{4}|u\{[0-9a-fA-F]{1,6}\}|x[0-9a-fA-F]{2})/.test(s);
}
