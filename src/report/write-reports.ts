import { DEFAULT_FORMATS, renderAll, type Format } from './render.js';
import type { ScanReport } from './schema.js';

/** Write the scan's reports into `outDir`: report.json, report.md and report.html unless told otherwise. */
export async function writeReports(report: ScanReport, outDir: string, formats: readonly Format[] = DEFAULT_FORMATS): Promise<string[]> {
  return renderAll(report, formats, outDir);
}
