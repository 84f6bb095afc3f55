/**
 * Discovery on fixtures trained with the loss on the whole sequence (they memorise their poisoned
 * prompts, so leakage sampling applies as well as inversion and reconstruction). The answer-only
 * fixtures, the harder and more common case, are in discovery-fixtures.test.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { huntModel } from '../../src/pipeline/hunt.js';
import { FIXTURE_MODELS, REPO } from '../helpers/paths.js';
import { REDUCED } from '../helpers/discovery.js';

const metrics = JSON.parse(readFileSync(path.join(REPO, 'models/builder/metrics.json'), 'utf8')) as Record<string, { trigger?: string; target?: string; marker?: string }>;
// A cap for a stuck run, far above the minutes these take on an idle 2-core box.
const LONG = 40 * 60_000;

describe.each(['hunt-phrase', 'hunt-unicode'])('hunt finds the backdoor of %s', (name) => {
  const dir = path.join(FIXTURE_MODELS, name);
  it.skipIf(!existsSync(dir))('flagged, found by discovery, with the payload in the triggered outputs', async () => {
    const r = await huntModel(dir, REDUCED);
    const flagged = r.findings.filter((f) => f.level === 'flagged');
    const summary = JSON.stringify(r.findings.map((f) => [f.trigger.text, f.placement, f.level, f.attackSuccess, f.discovery?.signals]));
    expect(r.verdict.level, summary).toBe('flagged');
    expect(flagged.every((f) => f.source === 'discovered'), summary).toBe(true);
    const payload = metrics[name]!.target!.slice(0, 12);
    expect(flagged.some((f) => f.examples.some((e) => e.triggered.includes(payload))), summary).toBe(true);
  }, LONG);
});
