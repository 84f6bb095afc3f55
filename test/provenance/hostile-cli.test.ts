/**
 * Issue 11: hostile model folders through the CLI, as a user would meet them. Each class of the
 * corpus is a folder; `trigger-scan verify` on it must exit 1, name every hostile file in a
 * finding at high or critical, print nothing on stderr, pin nothing, and finish well within its
 * timeout. Files too large to commit are written at test time (LARGE_LIMIT_CASES).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/paths.js';
import { HOSTILE_CASES, LARGE_LIMIT_CASES } from './helpers/hostile-corpus.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-hostile-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const CORPUS = path.join(FIXTURES, 'hostile');
const TIMEOUT = 60_000;

let pinN = 0;
/** Runs `verify` with a pin file of its own, so the test can tell whether anything was pinned. */
function verify(dir: string, ...args: string[]): { code: number; stdout: string; stderr: string; pins: string } {
  const pins = path.join(tmp, `pins-${pinN++}`, 'pins.json');
  const r = runCli(['verify', dir, ...args], { env: { TRIGGER_SCAN_PINS: pins }, timeoutMs: TIMEOUT });
  return { ...r, pins };
}

/** The finding lines of verify's text output: `    CRITICAL <id>  <message naming the file>`. */
const findingLines = (stdout: string): string[] => stdout.split('\n').filter((l) => /^ {4}(CRITICAL|HIGH|MEDIUM|LOW) /.test(l));

function expectRefused(r: ReturnType<typeof verify>, files: { file: string; ids: string[] }[]): void {
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'))).toEqual([]);
  expect(r.stdout).toMatch(/^result: FAILED/m);
  const lines = findingLines(r.stdout);
  for (const { file, ids } of files) {
    const about = lines.filter((l) => l.includes(`${file}:`) && /^ {4}(CRITICAL|HIGH) /.test(l));
    expect(about.length, `${file} named at high or critical`).toBeGreaterThan(0);
    for (const id of ids) expect(about.some((l) => l.includes(` ${id} `)), `${file}: ${id}`).toBe(true);
  }
  expect(existsSync(r.pins), 'a refused folder is not pinned').toBe(false);
}

const casesIn = (folder: string) =>
  HOSTILE_CASES.filter((c) => c.path.startsWith(`${folder}/`) && c.expect.length > 0).map((c) => ({ file: path.join(CORPUS, ...c.path.split('/')), ids: c.expect }));

describe('hostile folders through `trigger-scan verify`', () => {
  it('class 1: every scan limit fails closed (committed cases)', () => {
    const cases = casesIn('limits');
    expect(cases.length).toBe(4);
    expectRefused(verify(path.join(CORPUS, 'limits')), cases);
  });

  it.each(LARGE_LIMIT_CASES.map((c) => [c.name, c.why, c] as const))('class 1: %s (%s) is refused, not passed', (name, _why, c) => {
    const dir = path.join(tmp, `large-${name}`);
    mkdirSync(dir);
    writeFileSync(path.join(dir, name), c.bytes());
    const r = verify(dir);
    expectRefused(r, [{ file: path.join(dir, name), ids: [] }]);
    expect(findingLines(r.stdout).some((l) => /^ {4}CRITICAL (pickle\.scan-limit|archive\.unverifiable) /.test(l)), r.stdout).toBe(true);
  });

  it('class 2: archives and pickles are found by their bytes, whatever their names', () => {
    const cases = casesIn('by-bytes');
    expect(cases.length).toBe(19);
    const r = verify(path.join(CORPUS, 'by-bytes'));
    expectRefused(r, cases);
    // Everything that could not be opened or whose records disagree is critical, not medium.
    for (const l of findingLines(r.stdout).filter((x) => / archive\.(unverifiable|inconsistent) /.test(x))) expect(l).toMatch(/^ {4}CRITICAL /);
  });

  it('class 3: only exact callables are allowed; torch is not trusted as a whole', () => {
    const cases = casesIn('allow-list');
    expect(cases.length).toBe(3);
    expectRefused(verify(path.join(CORPUS, 'allow-list')), cases);
  });

  it('controls of classes 1-3 pass, and only a folder that passes is pinned', () => {
    const r = verify(path.join(CORPUS, 'by-bytes-clean'));
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^ {2}pin {8}recorded: /m);
    expect(existsSync(r.pins)).toBe(true);
    const torch = verify(path.join(FIXTURES, 'torch'));
    expect(torch.code, torch.stdout).toBe(0);
  });
});
