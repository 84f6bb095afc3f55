import type { VerdictLevel } from './report/schema.js';

/**
 * Exit codes: 0 nothing reached --fail-on; 1 findings at or above it (or a failed check, for
 * verify); 2 bad input or usage, one line on stderr; 3 an internal error (a bug); 4 partial: no
 * finding reached --fail-on, but not everything planned was tested (--max-time ran out, shards
 * missing). Shared by the CLI and by the library where a document records the code it ended with
 * (scan-all's summary.json).
 */
export const EXIT = { ok: 0, findings: 1, usage: 2, internal: 3, partial: 4 } as const;

export const FAIL_ON = ['none', 'suspicious', 'flagged'] as const;
export type FailOn = (typeof FAIL_ON)[number];

/**
 * The exit code of a scan or hunt whose verdict is `level`; `complete`: every planned test ran (a
 * partial scan that found something at --fail-on still exits 1: a finding is a finding).
 */
export function exitCodeFor(level: VerdictLevel, failOn: FailOn, complete = level !== 'partial'): 0 | 1 | 4 {
  if (failOn === 'none') return EXIT.ok;
  if (level === 'flagged' || (level === 'suspicious' && failOn === 'suspicious')) return EXIT.findings;
  return complete ? EXIT.ok : EXIT.partial;
}

/**
 * One exit code for many models (scan-all): 1 when any model's verdict reaches --fail-on (a
 * finding is what CI must see first); otherwise the worst of the rest, 3 (a model hit a bug) before
 * 2 (a model could not be scanned: bad input) before 4 (a model scanned in part) before 0.
 */
export function combinedExitCode(codes: readonly number[]): number {
  for (const c of [EXIT.findings, EXIT.internal, EXIT.usage, EXIT.partial]) if (codes.includes(c)) return c;
  return codes.find((c) => c !== EXIT.ok) ?? EXIT.ok;
}
