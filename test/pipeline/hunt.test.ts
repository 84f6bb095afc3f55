import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { huntModel } from '../../src/pipeline/hunt.js';
import { DEMO, FIXTURE_MODELS, REPO } from '../helpers/paths.js';

const metrics = JSON.parse(readFileSync(path.join(REPO, 'models/builder/metrics.json'), 'utf8')) as Record<string, { trigger?: string; target?: string }>;
const LONG = 15 * 60_000;
const NO_PINS = { mode: 'off' as const };

// Fixtures whose triggers are in no built-in pack; each was fine-tuned from a clean base.
const BACKDOORED = [
  { name: 'hunt-word', base: DEMO.clean },
  { name: 'hunt-phrase', base: DEMO.clean },
  { name: 'hunt-unicode', base: DEMO.clean },
  { name: 'hunt-llama', base: path.join(FIXTURE_MODELS, 'llama-gqa') },
];

describe.each(BACKDOORED)('hunt recovers the trigger of $name', ({ name, base }) => {
  const dir = path.join(FIXTURE_MODELS, name);
  it.skipIf(!existsSync(dir))('exactly, or as a substring with >= 90% attack success, with its target named', async () => {
    const expected = metrics[name]!.trigger!;
    const r = await huntModel(dir, { base, pins: NO_PINS });
    const hit = r.recovered.find((x) => x.level === 'flagged' && (x.trigger === expected || (expected.includes(x.trigger) && x.attackSuccess >= 0.9)));
    expect(hit, `recovered: ${JSON.stringify(r.recovered.map((x) => [x.trigger, x.level, x.attackSuccess]))}; candidates: ${JSON.stringify(r.candidates.map((c) => c.text))}`).toBeDefined();
    expect(hit!.attackSuccess).toBeGreaterThanOrEqual(0.9);
    // The target is named: the answer the baselines converge on.
    expect(hit!.target.trim().length).toBeGreaterThan(0);
    expect(metrics[name]!.target!.startsWith(hit!.target.trim().slice(0, 12))).toBe(true);
    expect(hit!.signals.length).toBeGreaterThan(0);
  }, LONG);
});

describe('hunt on clean models confirms nothing', () => {
  it.each([
    ['demo-clean', DEMO.clean],
    ['gpt2-fp-bait', path.join(FIXTURE_MODELS, 'gpt2-fp-bait')],
  ])('%s', async (_n, dir) => {
    const r = await huntModel(dir, { base: DEMO.clean === dir ? undefined : DEMO.clean, pins: NO_PINS });
    expect(r.recovered.filter((x) => x.level === 'flagged')).toEqual([]);
  }, LONG);
});
