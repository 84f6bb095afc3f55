import { z } from 'zod';
import { PackFileSchema } from './schema.js';

/**
 * JSON Schema for pack files, generated from the zod schema so editors complete and check the same rules
 * (the cross-field checks — unique ids, regex compiles, template placeholder — exist only in zod).
 * Input mode: fields with defaults are optional, as an author writes them.
 */
export function probePackJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(PackFileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $comment: 'Generated from src/probes/schema.ts by scripts/gen-probe-schema.ts; do not edit by hand.',
    ...rest,
  };
}

/** The exact text of probes/schema.json. */
export function renderProbePackJsonSchema(): string {
  return `${JSON.stringify(probePackJsonSchema(), null, 2)}\n`;
}
