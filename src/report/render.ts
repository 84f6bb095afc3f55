import path from 'node:path';
import { UserError } from '../errors.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import { makeFolder, writeAtomic } from './output-folder.js';
import { renderSarif } from './sarif.js';
import type { ScanReport } from './schema.js';

export { writeAtomic } from './output-folder.js';

/** Every output format, in the order files are written. */
export const FORMATS = ['json', 'md', 'html', 'sarif', 'junit'] as const;
export type Format = (typeof FORMATS)[number];
export const DEFAULT_FORMATS: readonly Format[] = ['json', 'md', 'html'];

export const FILE_NAMES: Record<Format, string> = {
  json: 'report.json',
  md: 'report.md',
  html: 'report.html',
  sarif: 'report.sarif',
  junit: 'report.junit.xml',
};

const RENDER: Record<Format, (r: ScanReport) => string> = {
  json: (r) => JSON.stringify(r, null, 2) + '\n',
  md: renderMarkdown,
  html: renderHtml,
  sarif: renderSarif,
  junit: (r) => renderJunit(r),
};

/**
 * `--format json,md,html,sarif,junit`: comma- or space-separated, case-insensitive, duplicates
 * ignored; `all` means every format. The result is in FORMATS order.
 */
export function parseFormats(csv: string): Format[] {
  const names = csv.split(/[\s,]+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (!names.length) throw new UserError('E_USAGE', `--format: no format given; choose from ${FORMATS.join(', ')}`);
  const want = new Set<Format>();
  for (const n of names) {
    if (n === 'all') FORMATS.forEach((f) => want.add(f));
    else if ((FORMATS as readonly string[]).includes(n)) want.add(n as Format);
    else throw new UserError('E_USAGE', `--format: unknown format "${n}"; choose from ${FORMATS.join(', ')} (or all)`);
  }
  return FORMATS.filter((f) => want.has(f));
}

export function renderFormat(report: ScanReport, format: Format): string {
  return RENDER[format](report);
}

/**
 * Render `formats` from one report and write them into `outDir` (created if missing). Every format
 * is rendered before the first file is written, so a renderer bug leaves the folder as it was.
 * Returns the paths written, in FORMATS order.
 */
export async function renderAll(report: ScanReport, formats: readonly Format[], outDir: string): Promise<string[]> {
  const wanted = FORMATS.filter((f) => formats.includes(f));
  const texts = wanted.map((f) => [path.join(outDir, FILE_NAMES[f]), RENDER[f](report)] as const);
  await makeFolder(outDir);
  for (const [file, text] of texts) await writeAtomic(file, text);
  return texts.map(([file]) => file);
}
