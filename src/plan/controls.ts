import type { TextTokenizer } from '../model/tokenizer.js';
import { pick, type Rng } from '../util/rng.js';

/**
 * Random controls matched to a trigger in token length and in kind. A null built from plain
 * words would make any punctuated or odd string look significant, and one built from long
 * capitalised words ("Assistant", "Honestly") disturbs a model more than the trigger's own pieces.
 * So ASCII triggers are rebuilt token by token from vocabulary tokens of the same shape: class
 * (letters, digits, punctuation), letter case, leading space and character length; non-ASCII
 * characters are swapped for ordinary non-ASCII letters of the same UTF-8 length.
 */
export type TokenClass = 'lower' | 'upper' | 'capital' | 'mixed' | 'number' | 'punct' | 'space' | 'other';

export function classifyPiece(s: string): TokenClass {
  const core = s.startsWith(' ') && s.length > 1 ? s.slice(1) : s;
  if (/^[a-z]+$/.test(core)) return 'lower';
  if (/^[A-Z]+$/.test(core)) return core.length === 1 ? 'capital' : 'upper';
  if (/^[A-Z][a-z]+$/.test(core)) return 'capital';
  if (/^[A-Za-z]+$/.test(core)) return 'mixed';
  if (/^[0-9]+$/.test(core)) return 'number';
  if (/^[!-/:-@[-`{-~]+$/.test(core)) return 'punct';
  if (/^\s+$/.test(s)) return 'space';
  return 'other';
}

/** Length buckets: a control piece may differ a little in length, not in scale. */
function lengthBucket(s: string): number {
  const n = s.trimStart().length;
  return n <= 3 ? n : n <= 5 ? 4 : n <= 8 ? 6 : 9;
}

function poolKey(cls: TokenClass, lead: boolean, bucket: number): string {
  return `${cls}|${lead ? 's' : 'n'}|${bucket}`;
}

/** Pools of token ids by shape, from the tokenizer's own vocabulary. */
export class VocabularyPools {
  private readonly pools = new Map<string, number[]>();

  constructor(tokenizer: TextTokenizer, maxId: number) {
    for (let id = 0; id < Math.min(maxId, tokenizer.info.vocabSize); id++) {
      const s = tokenizer.decode([id], true);
      // Pure printable ASCII only: the pools stand for ordinary text.
      if (!s || !/^[\x20-\x7e]+$/.test(s)) continue;
      const cls = classifyPiece(s);
      if (cls === 'other' || cls === 'space') continue;
      const key = poolKey(cls, s.startsWith(' '), lengthBucket(s));
      let p = this.pools.get(key);
      if (!p) this.pools.set(key, (p = []));
      p.push(id);
    }
  }

  /** The closest pool with at least a few members: exact shape, then nearby lengths. */
  pool(piece: string): number[] | undefined {
    const cls = classifyPiece(piece);
    if (cls === 'other' || cls === 'space') return undefined;
    const lead = piece.startsWith(' ');
    const b = lengthBucket(piece);
    for (const bucket of [b, b - 1, b + 1, b - 2, b + 2]) {
      const p = this.pools.get(poolKey(cls, lead, bucket));
      if (p && p.length >= 3) return p;
    }
    return undefined;
  }
}

// Ordinary letters by UTF-8 length, so a swapped character costs the same bytes as the original.
const NON_ASCII_BY_BYTES: Record<number, [number, number][]> = {
  2: [[0x00e0, 0x00fe], [0x0430, 0x044f], [0x03b1, 0x03c9]],
  3: [[0x4e00, 0x4fff], [0x3041, 0x3093], [0xac00, 0xad00]],
  4: [[0x1f600, 0x1f64f]],
};

function randomNonAscii(rng: Rng, bytes: number): string {
  const ranges = NON_ASCII_BY_BYTES[bytes] ?? NON_ASCII_BY_BYTES[2]!;
  const [lo, hi] = pick(rng, ranges);
  return String.fromCodePoint(lo + Math.floor(rng() * (hi - lo + 1)));
}

export interface ControlGenerator {
  /** A control string for `trigger`; deterministic for a given rng state. */
  make(trigger: string, rng: Rng): string;
  /**
   * A key shared by triggers whose controls are interchangeable: script, coarse character mix
   * and token count. Triggers with one key share one set of control strings (made from the
   * first of them), which keeps the number of control runs proportional to kinds, not triggers.
   */
  signature(trigger: string): string;
}

function coarseMix(s: string): string {
  const letters = (s.match(/[A-Za-z]/g) ?? []).length;
  const upper = (s.match(/[A-Z]/g) ?? []).length;
  const digits = (s.match(/[0-9]/g) ?? []).length;
  const punct = (s.match(/[!-/:-@[-`{-~]/g) ?? []).length;
  const spaces = (s.match(/\s/g) ?? []).length;
  const words = s.trim() ? s.trim().split(/\s+/).length : 0;
  const parts = [
    letters ? (upper * 2 > letters ? 'U' : upper ? 'C' : 'l') : '',
    digits ? 'd' : '',
    punct ? (punct > 2 ? 'PP' : 'p') : '',
    spaces && words > 1 ? `w${Math.min(words, 6)}` : '',
  ];
  return parts.join('');
}

/** Token counts in buckets: controls may differ from a trigger by a token or two, not in scale. */
function tokenBucket(n: number): string {
  return n <= 2 ? String(n) : n <= 4 ? '3-4' : n <= 6 ? '5-6' : n <= 9 ? '7-9' : n <= 13 ? '10-13' : n <= 19 ? '14-19' : '20+';
}

export function controlGenerator(tokenizer: TextTokenizer, pools: VocabularyPools): ControlGenerator {
  const count = (s: string) => tokenizer.encode(s, false).length;
  const pieces = (s: string) => tokenizer.encode(s, false).map((id) => tokenizer.decode([id], false));

  const asciiOnce = (trigger: string, rng: Rng): string => {
    let out = '';
    for (const piece of pieces(trigger)) {
      const pool = pools.pool(piece);
      out += pool ? tokenizer.decode([pick(rng, pool)], false) : piece;
    }
    return out;
  };
  const nonAsciiOnce = (trigger: string, rng: Rng): string =>
    [...trigger].map((ch) => (ch.codePointAt(0)! < 0x80 ? ch : randomNonAscii(rng, Buffer.byteLength(ch)))).join('');

  return {
    signature(trigger) {
      const n = tokenBucket(count(trigger));
      if (/[^\x00-\x7f]/.test(trigger)) {
        const ascii = trigger.replace(/[^\x00-\x7f]/g, '');
        const bytes = [...trigger].filter((c) => c.codePointAt(0)! >= 0x80).map((c) => Buffer.byteLength(c)).join('');
        return `u:${bytes}:${coarseMix(ascii) || '-'}:${n}`;
      }
      return `a:${coarseMix(trigger)}:${n}`;
    },
    make(trigger, rng) {
      const target = count(trigger);
      const once = /[^\x00-\x7f]/.test(trigger) ? nonAsciiOnce : asciiOnce;
      // Random pieces can merge into fewer tokens; keep the candidate closest in length.
      let best = once(trigger, rng);
      let bestGap = Math.abs(count(best) - target);
      for (let i = 0; i < 20 && (bestGap > 0 || best === trigger); i++) {
        const c = once(trigger, rng);
        const gap = Math.abs(count(c) - target);
        if (c !== trigger && (gap < bestGap || best === trigger)) {
          best = c;
          bestGap = gap;
        }
      }
      return best;
    },
  };
}
