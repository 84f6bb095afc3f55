/**
 * Writes the JSON Schemas of the public documents into schemas/ from their zod schemas.
 * `--check` exits 1 instead of writing when a committed file is stale.
 * Run: npx tsx scripts/gen-schemas.ts [--check]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { TestResultStatementSchema } from '../src/attest/statement.js';
import { renderJsonSchema } from '../src/report/json-schema.js';
import { ScanReportSchema } from '../src/report/schema.js';
import { ReportDiffSchema } from '../src/report/diff.js';
import { HistoryEntrySchema } from '../src/report/history.js';
import { ScanSummarySchema } from '../src/report/summary.js';
import { VerifyReportSchema } from '../src/report/verify-report.js';
import { TrustPolicySchema } from '../src/provenance/trust-policy.js';

export const SCHEMAS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'schemas');

/** Every committed schema: file name → its zod schema and where that is defined. */
export const DOCUMENT_SCHEMAS: Record<string, { schema: z.ZodType; source: string }> = {
  'report.schema.json': { schema: ScanReportSchema, source: 'src/report/schema.ts' },
  'verify.schema.json': { schema: VerifyReportSchema, source: 'src/report/verify-report.ts' },
  'attestation.schema.json': { schema: TestResultStatementSchema, source: 'src/attest/statement.ts' },
  'trust-policy.schema.json': { schema: TrustPolicySchema, source: 'src/provenance/trust-policy.ts' },
  'summary.schema.json': { schema: ScanSummarySchema, source: 'src/report/summary.ts' },
  'diff.schema.json': { schema: ReportDiffSchema, source: 'src/report/diff.ts' },
  'history.schema.json': { schema: HistoryEntrySchema, source: 'src/report/history.ts' },
};

export const renderDocumentSchema = (file: string): string => renderJsonSchema(DOCUMENT_SCHEMAS[file]!.schema, DOCUMENT_SCHEMAS[file]!.source);

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  await mkdir(SCHEMAS_DIR, { recursive: true });
  for (const file of Object.keys(DOCUMENT_SCHEMAS)) {
    const target = path.join(SCHEMAS_DIR, file);
    const text = renderDocumentSchema(file);
    if (check) {
      if ((await readFile(target, 'utf8').catch(() => '')) !== text) {
        console.error(`${target} is stale; run: npx tsx scripts/gen-schemas.ts`);
        process.exitCode = 1;
      }
    } else {
      await writeFile(target, text);
      console.log(`wrote ${target}`);
    }
  }
}
