import { describe, expect, it } from 'vitest';
import type { LoadedModel } from '../../src/model/load-model.js';
import { minimalCore, reconstructAt, type TargetScorer } from '../../src/discover/reconstruct.js';

// A 40-token vocabulary: token 5 starts a word (" qu"), the rest are pieces without a space.
const fakeModel = { tokenizer: { decode: (ids: number[]) => ids.map((t) => (t === 5 ? ' qu' : `p${t}`)).join('') } } as unknown as LoadedModel;
const VOCAB = Array.from({ length: 40 }, (_, i) => i);

/** The target becomes certain as more of the hidden trigger appears, in order and contiguous. */
function scorerFor(trigger: number[], noise: (c: readonly number[]) => number = () => 0): TargetScorer & { calls: number } {
  const common = (c: readonly number[]) => {
    let best = 0;
    for (let i = 0; i < c.length; i++) for (let j = 0; j < trigger.length; j++) {
      let k = 0;
      while (i + k < c.length && j + k < trigger.length && c[i + k] === trigger[j + k]) k++;
      best = Math.max(best, k);
    }
    return best;
  };
  const s = {
    prompts: 2,
    calls: 0,
    async score(cands: readonly (readonly number[])[]) {
      s.calls += cands.length;
      return cands.map((c) => -2 + (2 * common(c)) / trigger.length - 0.01 * c.length + noise(c));
    },
  };
  return s;
}

describe('reconstructAt (sweep + beam) on a synthetic target', () => {
  it('grows a word from its first piece through pieces no single-token sweep ranks high', async () => {
    const trigger = [5, 31, 12, 7];
    const found = await reconstructAt(fakeModel, scorerFor(trigger), 'prefix', VOCAB, { targetTokens: 8, alphabet: 4, beamWidth: 4, maxLength: 6, shape: 'word' });
    expect(found[0]!.tokens).toEqual(trigger);
    expect(found[0]!.text).toBe(' qup31p12p7');
    expect(found[0]!.score).toBeGreaterThan(found[0]!.baseline + 1.5);
  });
  it('a word starts with its word-initial piece in running text', async () => {
    const found = await reconstructAt(fakeModel, scorerFor([5, 31, 12]), 'suffix', VOCAB, { targetTokens: 8, alphabet: 4, beamWidth: 2, maxLength: 4, shape: 'word' });
    for (const f of found) expect(f.tokens[0]).toBe(5);
  });
  it('stops growing once the target is certain', async () => {
    const s = scorerFor([5, 31]);
    const found = await reconstructAt(fakeModel, s, 'prefix', VOCAB, { targetTokens: 8, alphabet: 4, beamWidth: 2, maxLength: 8, shape: 'phrase' });
    expect(found[0]!.tokens).toEqual([5, 31]);
    expect(s.calls).toBeLessThan(40 * 2 * 4);
  });
});

describe('strings tried whole (invisible characters)', () => {
  it('a trigger only reachable as a multi-piece string is found by the sweep, and its pieces stay out of the alphabet', async () => {
    // Byte pieces 41-43 (no sweep proposes them: they are not in the searchable vocabulary) make the trigger.
    const trigger = [41, 42, 43];
    const s = scorerFor(trigger);
    const seen: number[][] = [];
    const spy = { ...s, async score(c: readonly (readonly number[])[], n?: number) { seen.push(...c.map((x) => [...x])); return s.score(c, n); } };
    const found = await reconstructAt(fakeModel, spy, 'suffix', VOCAB, { targetTokens: 8, alphabet: 4, beamWidth: 2, maxLength: 4, shape: 'phrase', extraMoves: [[41, 42, 43], [41, 42]] });
    expect(found[0]!.tokens).toEqual(trigger);
    // Extensions use whole tokens only: a byte piece is never prepended or appended on its own.
    const strayPiece = (c: number[]) => `,${c.join(',')},`.replace(/,41,42,43,/g, ',').replace(/,41,42,/g, ',').split(',').some((x) => ['41', '42', '43'].includes(x));
    expect(seen.filter(strayPiece)).toEqual([]);
  });
  it('without them the same trigger is out of reach', async () => {
    const found = await reconstructAt(fakeModel, scorerFor([41, 42, 43]), 'suffix', VOCAB, { targetTokens: 8, alphabet: 4, beamWidth: 2, maxLength: 4, shape: 'phrase' });
    expect(found[0]!.tokens).not.toEqual([41, 42, 43]);
  });
});

describe('canonical tokens', () => {
  it('scores every move in the form its text encodes to, so the string found is the string confirmed', async () => {
    // Token 39 re-encodes as 31 followed by 12 (a merge the tokenizer would never produce).
    const canonical = (t: readonly number[]) => t.flatMap((x) => (x === 39 ? [31, 12] : [x]));
    const seen: number[][] = [];
    const base = scorerFor([5, 31, 12, 7]);
    const s = { ...base, async score(c: readonly (readonly number[])[], n?: number) { seen.push(...c.map((x) => [...x])); return base.score(c, n); } };
    const found = await reconstructAt(fakeModel, s, 'prefix', VOCAB, { targetTokens: 8, alphabet: 4, beamWidth: 4, maxLength: 6, shape: 'word', canonical });
    expect(seen.some((c) => c.includes(39))).toBe(false);
    expect(found[0]!.tokens).toEqual([5, 31, 12, 7]);
  });
});

describe('minimalCore', () => {
  it('drops padding tokens that do not help', async () => {
    const s = scorerFor([5, 31, 12]);
    const [score] = await s.score([[20, 5, 31, 12, 21]]);
    const core = await minimalCore(s, { tokens: [20, 5, 31, 12, 21], text: 'p20 qup31p12p21', placement: 'prefix', score: score!, baseline: -2 }, fakeModel.tokenizer.decode);
    expect(core.tokens).toEqual([5, 31, 12]);
    expect(core.text).toBe(' qup31p12');
  });
  it('keeps a token whose removal costs more than the tolerance, measured from the string as found', async () => {
    const s = scorerFor([5, 31, 12]);
    const [score] = await s.score([[5, 31, 12]]);
    const core = await minimalCore(s, { tokens: [5, 31, 12], text: ' qup31p12', placement: 'prefix', score: score!, baseline: -2 }, fakeModel.tokenizer.decode);
    expect(core.tokens).toEqual([5, 31, 12]);
  });
  it('ends when dropping a token re-encodes longer (a byte piece of a split character)', async () => {
    // Dropping any token re-encodes as two replacement pieces (98, 99) in its place: longer, and as
    // good for a scorer that only looks for token 5. Taking such a form looped for ever.
    const canonical = (t: readonly number[]) => (t.includes(41) ? [...t] : [...t, 98, 99]);
    const s = scorerFor([5]);
    const [score] = await s.score([[41, 5]]);
    const core = await minimalCore(s, { tokens: [41, 5], text: 'x', placement: 'prefix', score: score!, baseline: -2 }, fakeModel.tokenizer.decode, canonical, 10);
    expect(core.tokens.length).toBeLessThanOrEqual(2);
  });
});
