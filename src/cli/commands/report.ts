import path from 'node:path';
import type { Command } from 'commander';
import type { Io } from '../output.js';

/** Formats `trigger-scan report` writes when --format is not given: the report.json is already there. */
export const REPORT_COMMAND_DEFAULT_FORMATS = 'md,html';

export interface ReportCliOptions {
  format: string;
  out?: string;
}

/**
 * `trigger-scan report <report.json> [--format list] [--out dir]`: render a saved report again,
 * e.g. as SARIF for a code-scanning upload or after upgrading trigger-scan. Reports written by an
 * older schema version are migrated first; a newer one is refused with a one-line error.
 */
export function addReportCommand(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command('report')
    .description('render a saved report.json again as Markdown, HTML, SARIF or JUnit XML')
    .argument('<report.json>', 'a report.json written by trigger-scan scan')
    .option('--format <list>', 'comma-separated: json, md, html, sarif, junit, or all', REPORT_COMMAND_DEFAULT_FORMATS)
    .option('--out <dir>', 'folder to write into (default: the folder report.json is in)')
    .action(async (file: string, o: ReportCliOptions) => setCode(await runReport(file, o, io)));
}

export async function runReport(file: string, o: ReportCliOptions, io: Io): Promise<number> {
  const { parseFormats, renderAll } = await import('../../report/render.js');
  const { loadReportDetailed } = await import('../../report/load-report.js');
  // Check the option before reading the file, so a typo fails fast.
  const formats = parseFormats(o.format);
  const loaded = await loadReportDetailed(file);
  const { prepareOutputFolder } = await import('../../report/output-folder.js');
  const out = await prepareOutputFolder(o.out ?? path.dirname(file));
  for (const m of loaded.migrated) io.err(`note: ${file}: migrated from an older report schema: ${m}\n`);
  const files = await renderAll(loaded.report, formats, out.dir);
  for (const f of files) io.out(`wrote ${path.relative(process.cwd(), f) || f}\n`);
  return 0;
}
