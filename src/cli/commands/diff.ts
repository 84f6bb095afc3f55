import type { Command } from 'commander';
import { DIFF_FAIL_ON, type DiffFailOn } from '../../report/diff.js';
import { EXIT } from '../../exit-codes.js';
import { oneOf } from '../option-parsers.js';
import type { Io } from '../output.js';

export interface DiffCliOptions {
  json?: boolean;
  failOn: DiffFailOn;
}

/**
 * `trigger-scan diff <old> <new>`: what changed between two report.json files. Exit 1 when the
 * difference reaches --fail-on (none by default: a diff is information unless CI asks).
 */
export function addDiffCommand(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command('diff')
    .description('compare two report.json files: new, gone and changed findings, verdict, file digests, pin, packs, settings')
    .argument('<old>', 'the earlier report.json')
    .argument('<new>', 'the later report.json')
    .option('--json', 'print the diff as JSON (schemas/diff.schema.json)')
    .option('--fail-on <what>', `exit 1 when there is: ${DIFF_FAIL_ON.join(', ')} (new: a new finding; changed: also changed findings, file digests or pin; any: any difference)`, oneOf(DIFF_FAIL_ON), 'none')
    .action(async (a: string, b: string, o: DiffCliOptions) => setCode(await runDiff(a, b, o, io)));
}

export async function runDiff(oldFile: string, newFile: string, o: DiffCliOptions, io: Io): Promise<number> {
  const { loadReport } = await import('../../report/load-report.js');
  const { diffFails, diffReports, renderDiffText } = await import('../../report/diff.js');
  const [a, b] = [await loadReport(oldFile), await loadReport(newFile)];
  const d = diffReports(a, b);
  io.out(o.json ? JSON.stringify(d, null, 2) + '\n' : renderDiffText(d));
  return diffFails(d, o.failOn) ? EXIT.findings : EXIT.ok;
}
