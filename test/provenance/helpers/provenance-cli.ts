/**
 * Runs the provenance commands in-process, the way src/cli/main.ts runs the CLI: a commander
 * program with the commands added, output captured, UserError → exit 2 with one line.
 * (main.ts wires addProvenanceCommands itself; this lets the commands be tested on their own.)
 */
import { Command, CommanderError } from 'commander';
import { addProvenanceCommands } from '../../../src/cli/commands/provenance.js';
import type { Io } from '../../../src/cli/output.js';
import { isUserError } from '../../../src/errors.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runProvenanceCli(args: string[]): Promise<CliRun> {
  let code = 0;
  let stdout = '';
  let stderr = '';
  const io: Io = { out: (t) => void (stdout += t), err: (t) => void (stderr += t), isTTY: false };
  const program = new Command('trigger-scan').exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  addProvenanceCommands(program, io, (c) => (code = c));
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) code = err.exitCode === 0 ? 0 : 2;
    else if (isUserError(err)) {
      stderr += `trigger-scan: error: ${err.message}\n`;
      code = 2;
    } else throw err;
  }
  return { code, stdout, stderr };
}
