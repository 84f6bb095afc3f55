import { z } from 'zod';
import { ScanReportSchema } from './schema.js';
import { VerifyReportSchema } from './verify-report.js';

/**
 * The JSON Schemas of the public documents, generated from their zod schemas and committed under
 * `schemas/` (scripts/gen-schemas.ts writes them; a test checks they are current). Input mode, so
 * readers of an older schema accept fields a newer writer added. Row types with an `id` in their
 * metadata (findings and steering share one) are written once under `$defs`.
 */
export const DOCUMENT_SCHEMAS = {
  'report.schema.json': { schema: ScanReportSchema, source: 'src/report/schema.ts' },
  'verify.schema.json': { schema: VerifyReportSchema, source: 'src/report/verify-report.ts' },
} as const;

export type SchemaFile = keyof typeof DOCUMENT_SCHEMAS;

export function documentJsonSchema(file: SchemaFile): Record<string, unknown> {
  const { schema, source } = DOCUMENT_SCHEMAS[file];
  const generated = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, $comment: `Generated from ${source} by scripts/gen-schemas.ts; do not edit by hand.`, ...rest };
}

/** The exact text of `schemas/<file>`. */
export function renderDocumentJsonSchema(file: SchemaFile): string {
  return `${JSON.stringify(documentJsonSchema(file), null, 2)}\n`;
}
