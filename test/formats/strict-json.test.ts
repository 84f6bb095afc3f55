import { describe, expect, it } from 'vitest';
import { isJsonObject, parseStrictJson } from '../../src/formats/strict-json.js';

describe('parseStrictJson', () => {
  it('returns objects as Maps, integer literals as bigint and other numbers as number', () => {
    const r = parseStrictJson('{"a":[1, -0, 9007199254740993, 1.5, 1e2], "b": {"c": null, "d": true, "e": "x\\u00e9\\ud83d\\ude00"}}');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(isJsonObject(r.value)).toBe(true);
    const top = r.value as Map<string, unknown>;
    expect(top.get('a')).toEqual([1n, 0n, 9007199254740993n, 1.5, 100]);
    const b = top.get('b') as Map<string, unknown>;
    expect([...b.entries()]).toEqual([
      ['c', null],
      ['d', true],
      ['e', 'xé😀'],
    ]);
  });

  it('reports every duplicate key with its path', () => {
    const r = parseStrictJson('{"w":{"x":1,"x":2},"w":3}');
    expect(r.ok).toBe(true);
    expect(r.duplicates).toEqual([
      { path: '/w', key: 'x' },
      { path: '/', key: 'w' },
    ]);
  });

  it('keeps __proto__ as data and never touches Object.prototype', () => {
    const r = parseStrictJson('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect((r.value as Map<string, unknown>).has('__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it.each([
    ['trailing garbage', '{} x'],
    ['trailing comma', '{"a":1,}'],
    ['single quotes', "{'a':1}"],
    ['lone high surrogate', '"\\ud800"'],
    ['lone low surrogate', '"\\udc00x"'],
    ['control character in string', '"a\u0001"'],
    ['leading zero', '01'],
    ['NaN', 'NaN'],
    ['unterminated', '{"a":'],
    ['empty', ''],
  ])('rejects %s', (_name, text) => {
    const r = parseStrictJson(text);
    expect(r.ok).toBe(false);
  });

  it('caps nesting depth without overflowing the call stack', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const r = parseStrictJson(deep);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/nesting deeper than 128/);
  });

  it('caps the number of values', () => {
    const r = parseStrictJson(`[${'0,'.repeat(1000)}0]`, { maxValues: 100 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/more than 100 JSON values/);
  });

  it('accepts leading whitespace and the space padding safetensors writers add', () => {
    expect(parseStrictJson('  \n{"a":1}      ').ok).toBe(true);
  });
});
