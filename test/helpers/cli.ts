import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from './paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

// Scans pin models on first use; tests keep their pins away from the user's real pin file.
const PINS = path.join(mkdtempSync(path.join(os.tmpdir(), 'ts-pins-')), 'pins.json');

// Resolved here so that a test may run the CLI from any working folder.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Run the CLI from source in a child process, as a user would, and capture everything. */
export function runCli(args: string[], opts: { cwd?: string; input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, ['--import', TSX, path.join(REPO, 'src/cli/run.ts'), ...args], {
    cwd: opts.cwd ?? REPO,
    encoding: 'utf8',
    input: opts.input ?? '',
    env: { ...process.env, NO_COLOR: '1', TRIGGER_SCAN_PINS: PINS, ...opts.env },
    timeout: opts.timeoutMs ?? 120_000,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
