import path from 'node:path';
import { finding } from '../../formats/finding.js';
import type { Finding } from '../../formats/finding.js';
import { scanPickleFile } from '../../formats/pickle-scan.js';
import type { PickleScanOptions, PickleScanReport } from '../../formats/pickle-scan.js';

/**
 * The pickle audit of a model folder. Every file is looked at by its bytes, whatever its name:
 * pickles, torch archives, any ZIP (nested ones too), NumPy object arrays, and archive formats we
 * cannot open. Pickles are walked, never loaded. Since a pickle next to safetensors or ONNX
 * weights is redundant at best, its mere presence is noted.
 */

export const PICKLE_EXTENSIONS: readonly string[] = ['.bin', '.pt', '.pth', '.pkl', '.pickle', '.ckpt', '.joblib'];

/** Whether a file name suggests a pickle (or torch archive); only decides whether "not a pickle" is worth saying. */
export function isPickleCandidate(file: string): boolean {
  const lower = file.toLowerCase();
  return PICKLE_EXTENSIONS.some((e) => lower.endsWith(e));
}

export interface ModelPickleReport {
  findings: Finding[];
  /** The files that hold pickles or produced a finding. */
  reports: PickleScanReport[];
}

/** Scan every file among `files` (POSIX paths relative to `dir`, e.g. from buildManifest). */
export async function scanModelPickles(dir: string, files: readonly string[], opts: PickleScanOptions = {}): Promise<ModelPickleReport> {
  const hasSafeFormat = files.some((f) => /\.(safetensors|onnx)$/i.test(f));
  const out: ModelPickleReport = { findings: [], reports: [] };
  for (const rel of [...files].sort()) {
    const abs = path.join(dir, ...rel.split('/'));
    const r = await scanPickleFile(abs, { ...opts, namedLikePickle: isPickleCandidate(rel) });
    if (r.pickles === 0 && r.findings.length === 0) continue;
    out.reports.push(r);
    if (r.pickles > 0) {
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
