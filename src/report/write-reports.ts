import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { renderMarkdown } from './markdown.js';
import type { ScanReport } from './schema.js';

/** Write through a temporary name and rename, so a reader never sees half a report. */
async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, 'utf8');
  await rename(tmp, file);
}

export async function writeReports(report: ScanReport, outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    throw new UserError('E_OUT', `${outDir}: cannot create the report folder (${err.code ?? err.message})`, outDir);
  });
  const files = [path.join(outDir, 'report.json'), path.join(outDir, 'report.md')];
  await writeAtomic(files[0]!, JSON.stringify(report, null, 2) + '\n');
  await writeAtomic(files[1]!, renderMarkdown(report));
  return files;
}
