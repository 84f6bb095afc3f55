/**
 * A strict JSON parser for headers and indexes written by someone we do not trust.
 *
 * Why not JSON.parse: it silently keeps the last of duplicate keys, so two readers of the same
 * header can disagree about a tensor's offsets (a parser-differential smuggling path); it turns
 * `__proto__` into a property that careless code later merges into prototypes; it accepts lone
 * surrogates that the reference (serde_json) rejects; and it rounds integers above 2^53.
 *
 * So objects come back as `Map`s, integer literals as `bigint` (exact), other numbers as `number`,
 * and every duplicate key is reported with its path. Work is bounded: nesting depth and the total
 * count of values are capped, and the parser is iterative over arrays/objects only to that depth.
 */

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

export interface StrictJsonOptions {
  /** serde_json's recursion limit is 128; deeper input is hostile or broken. */
  maxDepth?: number;
  /** Caps memory: a 100 MB header of `0,0,0,...` would otherwise become tens of millions of values. */
  maxValues?: number;
  /** Stop collecting duplicate-key reports after this many (the first ones are enough to act on). */
  maxDuplicateReports?: number;
}

export interface DuplicateKey {
  /** JSON-pointer-like path of the object holding the duplicate, e.g. `/weight_map` (`*` for array elements). */
  path: string;
  key: string;
}

export type StrictJsonResult =
  | { ok: true; value: JsonValue; duplicates: DuplicateKey[] }
  | { ok: false; error: string; position: number; duplicates: DuplicateKey[] };

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

// eslint-disable-next-line no-control-regex
const SLOW_STRING = /[\u0000-\u001f\\]/;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

export function parseStrictJson(text: string, opts: StrictJsonOptions = {}): StrictJsonResult {
  const maxDepth = opts.maxDepth ?? 128;
  const maxValues = opts.maxValues ?? 2_000_000;
  const maxDup = opts.maxDuplicateReports ?? 100;
  const duplicates: DuplicateKey[] = [];
  let pos = 0;
  let values = 0;

  const fail = (msg: string, at = pos): never => {
    throw new JsonSyntaxError(msg, at);
  };

  const skipWs = (): void => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else return;
    }
  };

  const countValue = (): void => {
    if (++values > maxValues) fail(`more than ${maxValues} JSON values`);
  };

  const parseString = (): string => {
    // caller checked the opening quote
    pos++;
    // Fast path: most strings have no escapes, so one indexOf and one native scan suffice.
    const close = text.indexOf('"', pos);
    if (close >= 0) {
      const run = text.slice(pos, close);
      if (!SLOW_STRING.test(run)) {
        pos = close + 1;
        return run;
      }
    }
    let out = '';
    let runStart = pos;
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(runStart, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        out += text.slice(runStart, pos);
        const e = text[pos + 1];
        if (e === undefined) fail('unterminated escape');
        if (e === 'u') {
          const unit = readHex4(pos + 2);
          pos += 6;
          if (unit >= 0xd800 && unit <= 0xdbff) {
            // A high surrogate must be followed by an escaped low surrogate (serde_json rejects lone ones).
            if (text[pos] !== '\\' || text[pos + 1] !== 'u') fail('lone surrogate in \\u escape');
            const low = readHex4(pos + 2);
            if (low < 0xdc00 || low > 0xdfff) fail('lone surrogate in \\u escape');
            pos += 6;
            out += String.fromCharCode(unit, low);
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            fail('lone surrogate in \\u escape');
          } else {
            out += String.fromCharCode(unit);
          }
        } else {
          const rep = ESCAPES[e as string];
          if (rep === undefined) fail(`bad escape \\${e as string}`);
          out += rep;
          pos += 2;
        }
        runStart = pos;
        continue;
      }
      pos++;
    }
  };

  const readHex4 = (at: number): number => {
    const h = text.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('bad \\u escape', at);
    return parseInt(h, 16);
  };

  const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  const parseNumber = (): number | bigint => {
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) return fail('bad number');
    const raw = m[0];
    pos += raw.length;
    // Integer literals stay exact; only literals with a fraction or exponent become floats,
    // so a reader can insist that offsets were written as integers (serde rejects `1.0` for u64).
    if (m[1] === undefined && m[2] === undefined) return BigInt(raw);
    const n = Number(raw);
    if (!Number.isFinite(n)) fail('number out of range');
    return n;
  };

  const parseLiteral = (): JsonValue => {
    if (text.startsWith('true', pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith('false', pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith('null', pos)) {
      pos += 4;
      return null;
    }
    return fail('unexpected character');
  };

  // Keys of the objects being parsed, joined into a path only when a duplicate needs reporting.
  const keyPath: string[] = [];

  const parseValue = (depth: number): JsonValue => {
    skipWs();
    countValue();
    const c = text.charCodeAt(pos);
    if (c === 0x22) return parseString();
    if (c === 0x7b) return parseObject(depth + 1);
    if (c === 0x5b) return parseArray(depth + 1);
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return parseNumber();
    if (Number.isNaN(c)) return fail('unexpected end of input');
    return parseLiteral();
  };

  const parseArray = (depth: number): JsonValue[] => {
    if (depth > maxDepth) fail(`nesting deeper than ${maxDepth}`);
    pos++;
    const arr: JsonValue[] = [];
    skipWs();
    if (text.charCodeAt(pos) === 0x5d) {
      pos++;
      return arr;
    }
    for (;;) {
      keyPath.push('*');
      arr.push(parseValue(depth));
      keyPath.pop();
      skipWs();
      const c = text.charCodeAt(pos);
      if (c === 0x2c) {
        pos++;
        continue;
      }
      if (c === 0x5d) {
        pos++;
        return arr;
      }
      fail("expected ',' or ']'");
    }
  };

  const parseObject = (depth: number): JsonObject => {
    if (depth > maxDepth) fail(`nesting deeper than ${maxDepth}`);
    pos++;
    const obj: JsonObject = new Map();
    skipWs();
    if (text.charCodeAt(pos) === 0x7d) {
      pos++;
      return obj;
    }
    for (;;) {
      skipWs();
      if (text.charCodeAt(pos) !== 0x22) fail('expected a string key');
      const key = parseString();
      skipWs();
      if (text.charCodeAt(pos) !== 0x3a) fail("expected ':'");
      pos++;
      keyPath.push(key);
      const v = parseValue(depth);
      keyPath.pop();
      if (obj.has(key) && duplicates.length < maxDup) {
        duplicates.push({ path: keyPath.length === 0 ? '/' : keyPath.map((k) => `/${escapePointer(k)}`).join(''), key });
      }
      obj.set(key, v);
      skipWs();
      const c = text.charCodeAt(pos);
      if (c === 0x2c) {
        pos++;
        continue;
      }
      if (c === 0x7d) {
        pos++;
        return obj;
      }
      fail("expected ',' or '}'");
    }
  };

  try {
    const value = parseValue(0);
    skipWs();
    if (pos !== text.length) fail('trailing characters after the JSON value');
    return { ok: true, value, duplicates };
  } catch (err) {
    if (err instanceof JsonSyntaxError) return { ok: false, error: err.message, position: err.position, duplicates };
    throw err;
  }
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return v instanceof Map;
}
