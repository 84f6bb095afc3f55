import type { TextTokenizer } from '../model/tokenizer.js';
import { pick, type Rng } from '../util/rng.js';

/**
 * Random controls matched to a trigger in token length and in kind. A null built from plain
 * words would make any punctuated or odd string look significant; so ASCII triggers are rebuilt
 * token by token from vocabulary tokens of the same class (word, number, punctuation, spacing),
 * and non-ASCII characters are swapped for ordinary non-ASCII letters of the same UTF-8 length.
 */
export type TokenClass = 'word' | 'Word' | 'number' | 'punct' | 'space' | 'other';

export function classifyPiece(s: string): TokenClass {
  const core = s.startsWith(' ') && s.length > 1 ? s.slice(1) : s;
  if (/^[a-z]+$/.test(core)) return 'word';
  if (/^[A-Za-z]+$/.test(core)) return 'Word';
  if (/^[0-9]+$/.test(core)) return 'number';
  if (/^[!-/:-@[-`{-~]+$/.test(core)) return 'punct';
  if (/^\s+$/.test(s)) return 'space';
  return 'other';
}

/** Pools of token ids by (class, leading space), from the tokenizer's own vocabulary. */
export class VocabularyPools {
  private readonly pools = new Map<string, number[]>();

  constructor(private readonly tokenizer: TextTokenizer, maxId: number) {
    for (let id = 0; id < Math.min(maxId, tokenizer.info.vocabSize); id++) {
      const s = tokenizer.decode([id], true);
      if (!s || s.includes('\ufffd')) continue;
      const cls = classifyPiece(s);
      if (cls === 'other' || cls === 'space') continue;
      // Pure ASCII tokens only: the pool stands for ordinary text.
      if (!/^[\x20-\x7e]+$/.test(s)) continue;
      const key = `${cls}|${s.startsWith(' ') ? 's' : 'n'}`;
      let p = this.pools.get(key);
      if (!p) this.pools.set(key, (p = []));
      p.push(id);
    }
  }

  pool(cls: TokenClass, leadingSpace: boolean): number[] | undefined {
    const exact = this.pools.get(`${cls}|${leadingSpace ? 's' : 'n'}`);
    if (exact?.length) return exact;
    const lower = cls === 'Word' ? this.pools.get(`word|${leadingSpace ? 's' : 'n'}`) : undefined;
    return lower?.length ? lower : undefined;
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
  /** A key shared by triggers whose controls are interchangeable (same token-class signature). */
  signature(trigger: string): string;
}

export function controlGenerator(tokenizer: TextTokenizer, pools: VocabularyPools): ControlGenerator {
  const count = (s: string) => tokenizer.encode(s, false).length;
  const pieces = (s: string) => tokenizer.encode(s, false).map((id) => tokenizer.decode([id], false));

  const asciiOnce = (trigger: string, rng: Rng): string => {
    let out = '';
    for (const piece of pieces(trigger)) {
      const cls = classifyPiece(piece);
      const lead = piece.startsWith(' ');
      const pool = pools.pool(cls, lead);
      if (!pool || cls === 'space') {
        out += piece;
        continue;
      }
      out += tokenizer.decode([pick(rng, pool)], false);
    }
    return out;
  };
  const nonAsciiOnce = (trigger: string, rng: Rng): string =>
    [...trigger].map((ch) => (ch.codePointAt(0)! < 0x80 ? ch : randomNonAscii(rng, Buffer.byteLength(ch)))).join('');

  return {
    signature(trigger) {
      if (/[^\x00-\x7f]/.test(trigger)) return `u:${[...trigger].map((c) => (c.codePointAt(0)! < 0x80 ? classifyPiece(c)[0] : Buffer.byteLength(c))).join('')}:${count(trigger)}`;
      return `a:${pieces(trigger).map((p) => `${p.startsWith(' ') ? '_' : ''}${classifyPiece(p)}`).join(',')}`;
    },
    make(trigger, rng) {
      const target = count(trigger);
      const once = /[^\x00-\x7f]/.test(trigger) ? nonAsciiOnce : asciiOnce;
      // Random pieces can merge into fewer tokens; keep the candidate closest in length.
      let best = once(trigger, rng);
      let bestGap = Math.abs(count(best) - target);
      for (let i = 0; i < 20 && bestGap > 0; i++) {
        const c = once(trigger, rng);
        const gap = Math.abs(count(c) - target);
        if (gap < bestGap && c !== trigger) {
          best = c;
          bestGap = gap;
        }
      }
      return best;
    },
  };
}
