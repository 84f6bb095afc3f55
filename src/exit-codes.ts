import type { VerdictLevel } from './report/schema.js';

/**
 * Exit codes: 0 nothing reached --fail-on; 1 findings at or above it (or a failed check, for
 * verify); 2 bad input or usage, one line on stderr; 3 an internal error (a bug). Shared by the CLI
 * and by the library where a document records the code it ended with (scan-all's summary.json).
 */
export const EXIT = { ok: 0, findings: 1, usage: 2, internal: 3 } as const;

export const FAIL_ON = ['none', 'suspicious', 'flagged'] as const;
export type FailOn = (typeof FAIL_ON)[number];

/** The exit code of a scan or hunt whose verdict is `level`. */
export function exitCodeFor(level: VerdictLevel, failOn: FailOn): 0 | 1 {
  if (failOn === 'none') return EXIT.ok;
  if (level === 'flagged') return EXIT.findings;
  return level === 'suspicious' && failOn === 'suspicious' ? EXIT.findings : EXIT.ok;
}

/**
 * One exit code for many models (scan-all): 1 when any model's verdict reaches --fail-on (a
 * finding is what CI must see first); otherwise the worst of the rest, 3 (a model hit a bug) before
 * 2 (a model could not be scanned: bad input) before 0.
 */
export function combinedExitCode(codes: readonly number[]): number {
  for (const c of [EXIT.findings, EXIT.internal, EXIT.usage]) if (codes.includes(c)) return c;
  return codes.find((c) => c !== EXIT.ok) ?? EXIT.ok;
}
