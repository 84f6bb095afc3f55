/** The `run` record every document trigger-scan writes (report.json, summary.json): when it ran, and for how long. */
export function runSpan(startedAt: Date, finishedAt: Date): { startedAt: string; finishedAt: string; durationMs: number } {
  return { startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), durationMs: finishedAt.getTime() - startedAt.getTime() };
}
