import path from 'node:path';
import { finding } from '../../formats/finding.js';
import type { Finding } from '../../formats/finding.js';
import { scanPickleFile } from '../../formats/pickle-scan.js';
import type { PickleScanOptions, PickleScanReport } from '../../formats/pickle-scan.js';

// The pickle audit of a model folder: every pickle-like file is walked, never loaded.

export const PICKLE_EXTENSIONS: readonly string[] = ['.bin', '.pt', '.pth', '.pkl', '.pickle', '.ckpt', '.joblib'];

/** Whether a file name suggests a pickle (or torch archive) by extension. */
export function isPickleCandidate(file: string): boolean {
  const lower = file.toLowerCase();
  return PICKLE_EXTENSIONS.some((e) => lower.endsWith(e));
}

export interface ModelPickleReport {
  findings: Finding[];
  reports: PickleScanReport[];
}

/**
 * Scan every pickle-like file among `files` (POSIX paths relative to `dir`, e.g. from buildManifest).
 * A pickle next to safetensors or ONNX weights is redundant at best, so its mere presence is noted.
 */
export async function scanModelPickles(dir: string, files: readonly string[], opts: PickleScanOptions = {}): Promise<ModelPickleReport> {
  const candidates = files.filter(isPickleCandidate).sort();
  const hasSafeFormat = files.some((f) => /\.(safetensors|onnx)$/i.test(f));
  const out: ModelPickleReport = { findings: [], reports: [] };
  for (const rel of candidates) {
    const abs = path.join(dir, ...rel.split('/'));
    const r = await scanPickleFile(abs, opts);
    out.reports.push(r);
    if (r.format !== 'not-a-pickle') {
      out.findings.push(
        finding(
          'pickle.present',
          hasSafeFormat ? 'low' : 'info',
          abs,
          hasSafeFormat
            ? `${abs}: pickle checkpoint present alongside safetensors/ONNX weights; trigger-scan never loads it, but other tools might prefer it`
            : `${abs}: pickle checkpoint present; trigger-scan never loads it`,
          { format: r.format },
        ),
      );
    }
    out.findings.push(...r.findings);
  }
  return out;
}
