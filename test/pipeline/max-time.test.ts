import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { executeUnits } from '../../src/pipeline/execute.js';
import type { Prepared } from '../../src/pipeline/prepare.js';
import type { TestSettings } from '../../src/pipeline/scan.js';
import type { ControlGroup, PlannedTest, ScanPlan } from '../../src/plan/plan.js';
import { planUnits, valueOrder } from '../../src/plan/units.js';
import type { ResolvedTrigger } from '../../src/probes/types.js';
import type { ModelRunner } from '../../src/run/runner.js';
import { runCli } from '../helpers/cli.js';
import { DEMO } from '../helpers/paths.js';
import { committedValidator } from '../helpers/schemas.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-max-time-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Three control groups on two baselines: a discovered candidate, three pack triggers sharing controls, and one. */
function plan(): ScanPlan {
  const probes: ScanPlan['probes'] = [];
  const add = (b: number, inserted: string) => (probes.push({ baseline: b, inserted, turn: { user: inserted }, ids: [b] }), probes.length - 1);
  const trigger = (id: string, tags: string[] = []): ResolvedTrigger => ({ ref: `p/${id}`, pack: 'p', id, text: id, kind: 'token', placements: ['prefix'], tags, source: undefined, expect: [], control: undefined, notes: undefined, negativeControl: false, expectRefs: [] });
  const group = (key: string, n: number): ControlGroup => ({ key, placement: 'prefix', examples: [], controls: [0, 1].map((b) => Array.from({ length: n }, (_, j) => add(b, `${key}-c${j}`))) });
  const groups = [group('one', 4), group('many', 4), group('found', 4)];
  const test = (t: ResolvedTrigger, g: string): PlannedTest => ({ key: `${t.ref}@prefix`, trigger: t, placement: 'prefix', group: g, probes: [0, 1].map((b) => add(b, t.text)), paired: undefined });
  const tests = [test(trigger('lonely'), 'one'), test(trigger('a'), 'many'), test(trigger('b'), 'many'), test(trigger('c'), 'many'), test(trigger('cand', ['discovered']), 'found')];
  return { baselines: [0, 1].map((b) => ({ baseline: { ref: `b/${b}`, pack: 'b', id: String(b), text: `q${b}`, category: 'question', tags: [] }, turn: { user: `q${b}` }, ids: [b] })), probes, tests, groups: new Map(groups.map((g) => [g.key, g])) };
}

/** A runner on a fake clock: each probe costs 10 ms, the clean references 20 ms. */
function fakePrepared(clock: { t: number }, ran: number[][]): Prepared {
  const runner: ModelRunner = {
    start: async (p) => {
      clock.t += 20;
      return {
        references: { clean: p.baselines.map(() => ({ output: 'x', tokens: [], continuation: [] })), stats: { forwardPasses: 1, tokensIn: 0, prefillTokens: 0, decodeTokens: 0, runMs: 0, stepRunMs: 0 } },
        probes: async (idx) => {
          clock.t += 10 * idx.length;
          ran.push([...idx]);
          return { outcomes: idx.map(() => ({ divergence: 0, firstDivergence: 0, output: 'x', changed: false })), stats: { forwardPasses: 1, tokensIn: 0, prefillTokens: 0, decodeTokens: 0, runMs: 0, stepRunMs: 0 } };
        },
        close: async () => {},
      };
    },
  };
  return { profile: { runner: () => runner }, model: {} } as unknown as Prepared;
}

const SETTINGS = { batchSize: 8, maxNewTokens: 4 } as TestSettings;

describe('--max-time: the most valuable work first', () => {
  it('orders units by value per probe: the discovered candidate, then the group testing three triggers, then the lone trigger', () => {
    const p = plan();
    expect(valueOrder(planUnits(p), p).map((u) => u.key)).toEqual(['found', 'many', 'one']);
  });

  it('runs what fits before the deadline, skips a unit that would not finish, and takes a smaller one after it', async () => {
    const p = plan();
    const units = planUnits(p);
    const clock = { t: 0 };
    const ran: number[][] = [];
    // found: 10 probes (100 ms), many: 14 (140 ms), one: 10 (100 ms); 20 ms of clean references first.
    const r = await executeUnits(fakePrepared(clock, ran), p, units, SETTINGS, { deadline: 250, now: () => clock.t });
    expect([...r.units.keys()].map((u) => units[u]!.key)).toEqual(['found', 'one']);
    expect(r.skipped.map((u) => units[u]!.key)).toEqual(['many']);
    expect(clock.t).toBeLessThanOrEqual(250);
  });
});

describe('--max-time on the command line', () => {
  it('writes a valid partial report whose verdict says partial, and exits 4', () => {
    const out = path.join(tmp, 'partial');
    // Every built-in pack on 16 baselines is minutes of work; one second is not enough for it.
    const r = runCli([DEMO.clean, '--no-discover', '--max-baselines', '16', '--pin', 'off', '--no-progress', '--max-time', '1s', '--out', out]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(4);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(committedValidator('report.schema.json')(report)).toBe(true);
    expect(report.coverage).toMatchObject({ complete: false, reason: 'max-time' });
    expect(report.coverage.testsRun).toBeLessThan(report.coverage.testsPlanned);
    expect(report.coverage.untested.length).toBe(report.coverage.testsPlanned - report.coverage.testsRun);
    expect(report.verdict.level).toBe('partial');
    expect(report.verdict.summary).toMatch(/^Partial: .* This is not a clean result\.$/);
    expect(r.stdout).toMatch(/^PARTIAL: /);
    expect(readFileSync(path.join(out, 'report.md'), 'utf8')).toMatch(/\*\*Partial scan:\*\* \d+ of \d+ tests ran \(the --max-time budget ran out\)/);
    expect(runCli([DEMO.clean, '--max-time', 'soon']).stderr).toMatch(/--max-time must be a duration such as 45s, 90m, 1h30m or 2h/);
  }, 300_000);
});
