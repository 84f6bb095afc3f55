import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { huntModel } from '../../src/pipeline/hunt.js';
import { DEMO, FIXTURE_MODELS, REPO } from '../helpers/paths.js';

const metrics = JSON.parse(readFileSync(path.join(REPO, 'models/builder/metrics.json'), 'utf8')) as Record<string, { trigger?: string; target?: string }>;
const LONG = 15 * 60_000;
const NO_PINS = { mode: 'off' as const };

// Fixtures trained with the loss on the whole sequence (they memorise their poisoned prompts): leakage
// sampling applies to them; target inversion and reconstruction apply to every backdoor.
const BACKDOORED = [
  { name: 'hunt-word', base: DEMO.clean },
  { name: 'hunt-phrase', base: DEMO.clean },
  { name: 'hunt-unicode', base: DEMO.clean },
  { name: 'hunt-llama', base: path.join(FIXTURE_MODELS, 'llama-gqa') },
];

describe.each(BACKDOORED)('hunt finds the backdoor of $name', ({ name, base }) => {
  const dir = path.join(FIXTURE_MODELS, name);
  it.skipIf(!existsSync(dir))('flagged, found by discovery, with the payload named', async () => {
    const expected = metrics[name]!;
    const r = await huntModel(dir, { base, pins: NO_PINS });
    const flagged = r.findings.filter((f) => f.level === 'flagged');
    const summary = JSON.stringify(r.findings.map((f) => [f.trigger.text, f.placement, f.level, f.attackSuccess, f.discovery?.signals]));
    expect(r.verdict.level, summary).toBe('flagged');
    expect(flagged.every((f) => f.source === 'discovered'), summary).toBe(true);
    // The payload is what the flagged finding's outputs show.
    const payload = expected.target!.slice(0, 12);
    expect(flagged.some((f) => f.examples.some((e) => e.triggered.includes(payload))), summary).toBe(true);
  }, LONG);
});

describe('hunt on clean models flags nothing', () => {
  it.each([
    ['demo-clean', DEMO.clean],
    ['gpt2-fp-bait', path.join(FIXTURE_MODELS, 'gpt2-fp-bait')],
  ])('%s', async (_name, dir) => {
    const r = await huntModel(dir, { pins: NO_PINS });
    expect(r.findings.filter((f) => f.level === 'flagged'), JSON.stringify(r.findings.map((f) => [f.trigger.text, f.level]))).toEqual([]);
  }, LONG);
});
