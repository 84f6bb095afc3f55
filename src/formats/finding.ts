/**
 * The shape every provenance check reports in. Parsers of hostile files return findings instead
 * of throwing: one bad file must not stop the audit of the rest, and a report needs every problem,
 * not just the first.
 */
export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

export interface Finding {
  /** Stable rule id (`<area>.<rule>`); tests and policies key on it, never on `message`. */
  id: string;
  severity: Severity;
  /** The file the finding is about, as the caller named it (or the folder for folder-level rules). */
  file: string;
  /** One line for a human; names the file and the problem. */
  message: string;
  /** Machine-readable specifics (offsets, names); JSON-serialisable. */
  detail?: Record<string, unknown>;
}

export const SEVERITIES: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** The worst severity among `findings`, or undefined when there are none. */
export function worstSeverity(findings: readonly Finding[]): Severity | undefined {
  let worst: Severity | undefined;
  for (const f of findings) if (worst === undefined || severityRank(f.severity) > severityRank(worst)) worst = f.severity;
  return worst;
}

export function finding(id: string, severity: Severity, file: string, message: string, detail?: Record<string, unknown>): Finding {
  return detail === undefined ? { id, severity, file, message } : { id, severity, file, message, detail };
}
