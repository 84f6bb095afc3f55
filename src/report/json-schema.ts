import { z } from 'zod';

/**
 * JSON Schema text of a public document's zod schema, as committed under `schemas/` (written by
 * scripts/gen-schemas.ts; a test checks the committed files are current). Input mode, so readers
 * of an older schema accept fields a newer writer added. Row types with an `id` in their metadata
 * (findings and steering share one) are written once under `$defs`.
 */
export function renderJsonSchema(schema: z.ZodType, source: string): string {
  const generated = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return `${JSON.stringify({ $schema, $comment: `Generated from ${source} by scripts/gen-schemas.ts; do not edit by hand.`, ...rest }, null, 2)}\n`;
}
