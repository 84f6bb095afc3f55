import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from './paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

// Scans pin models on first use; tests keep their pins away from the user's real pin file.
const PINS = path.join(mkdtempSync(path.join(os.tmpdir(), 'ts-pins-')), 'pins.json');

/** Run the CLI from source in a child process, as a user would, and capture everything. */
export function runCli(args: string[], opts: { cwd?: string; input?: string; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/run.ts'), ...args], {
    cwd: opts.cwd ?? REPO,
    encoding: 'utf8',
    input: opts.input ?? '',
    env: { ...process.env, NO_COLOR: '1', TRIGGER_SCAN_PINS: PINS },
    timeout: opts.timeoutMs ?? 120_000,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
