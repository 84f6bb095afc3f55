/**
 * summary.json: what `trigger-scan scan-all` found over a shelf of models, one row per model, with
 * the exit code the run ended with. Defined once here (zod → types → schemas/summary.schema.json);
 * each model's own report.json stays the source for its details.
 */
import { z } from 'zod';
import { VerdictLevel } from './schema.js';
import { VERSION } from '../version.js';
import { runSpan } from './run-span.js';

export const SUMMARY_SCHEMA = 'trigger-scan/summary';
export const SUMMARY_SCHEMA_VERSION = 1;

/**
 * scanned: a report was written; error: the model could not be scanned (the others went on);
 * skipped: the --max-time budget was spent before its turn.
 */
export const MODEL_STATUSES = ['scanned', 'error', 'skipped'] as const;

export const SummaryModelSchema = z.object({
  name: z.string().describe('the model folder name, as used for its report folder'),
  dir: z.string().describe('the model folder as listed'),
  status: z.enum(MODEL_STATUSES),
  verdict: VerdictLevel.nullable().describe('null when the model could not be scanned'),
  complete: z.boolean().nullable().describe('every planned test ran (false: a time budget ended the scan early); null when not scanned'),
  flagged: z.number().int().min(0),
  suspicious: z.number().int().min(0),
  tests: z.number().int().min(0),
  top: z
    .object({ text: z.string(), ref: z.string(), placement: z.string(), level: z.string(), attackSuccess: z.number(), qValue: z.number() })
    .nullable()
    .describe('the strongest finding, if any'),
  rootDigest: z.string().nullable(),
  report: z.string().nullable().describe('report.json of this model, relative to the summary'),
  durationMs: z.number().min(0),
  error: z.object({ code: z.string(), message: z.string() }).nullable().describe('why the model could not be scanned'),
});

export const ScanSummarySchema = z
  .object({
    schema: z.literal(SUMMARY_SCHEMA),
    schemaVersion: z.literal(SUMMARY_SCHEMA_VERSION),
    tool: z.object({ name: z.literal('trigger-scan'), version: z.string() }),
    run: z.object({ startedAt: z.string(), finishedAt: z.string(), durationMs: z.number().min(0) }),
    source: z.string().describe('the folder of models or the list file, as given'),
    failOn: z.string(),
    exitCode: z.number().int().describe('the exit code of the run (see README: exit codes)'),
    totals: z.object({
      models: z.number().int().min(0),
      scanned: z.number().int().min(0),
      errors: z.number().int().min(0),
      skipped: z.number().int().min(0),
      flagged: z.number().int().min(0).describe('models whose verdict is flagged'),
      suspicious: z.number().int().min(0),
      clean: z.number().int().min(0),
      incomplete: z.number().int().min(0).describe('models scanned only in part, or skipped (time budget)'),
    }),
    models: z.array(SummaryModelSchema),
  })
  .describe('trigger-scan scan-all summary.json');

export type ScanSummary = z.infer<typeof ScanSummarySchema>;
export type SummaryModel = z.infer<typeof SummaryModelSchema>;

export function buildSummary(i: { source: string; failOn: string; exitCode: number; models: SummaryModel[]; startedAt: Date; finishedAt: Date }): ScanSummary {
  const count = (f: (m: SummaryModel) => boolean) => i.models.filter(f).length;
  return {
    schema: SUMMARY_SCHEMA,
    schemaVersion: SUMMARY_SCHEMA_VERSION,
    tool: { name: 'trigger-scan', version: VERSION },
    run: runSpan(i.startedAt, i.finishedAt),
    source: i.source,
    failOn: i.failOn,
    exitCode: i.exitCode,
    totals: {
      models: i.models.length,
      scanned: count((m) => m.status === 'scanned'),
      errors: count((m) => m.status === 'error'),
      skipped: count((m) => m.status === 'skipped'),
      flagged: count((m) => m.verdict === 'flagged'),
      suspicious: count((m) => m.verdict === 'suspicious'),
      clean: count((m) => m.verdict === 'clean'),
      incomplete: count((m) => m.complete === false),
    },
    models: i.models,
  };
}
