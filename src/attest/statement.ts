import { z } from 'zod';
import { IN_TOTO_STATEMENT_V1 } from '../provenance/integrity/dsse.js';

/**
 * The statement a scan attestation signs, defined once: an in-toto Statement v1 with the
 * test-result v0.1 predicate. `schemas/attestation.schema.json` is generated from it.
 */
export const TEST_RESULT_PREDICATE = 'https://in-toto.io/attestation/test-result/v0.1';
export const TEST_RESULT_LEVELS = ['PASSED', 'WARNED', 'FAILED'] as const;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const ResourceDescriptorSchema = z.object({
  name: z.string(),
  digest: z.record(z.string(), z.string()),
  annotations: z
    .record(z.string(), z.string())
    .optional()
    .describe('`kind`: trigger-scan/report, trigger-scan/probe-pack, or the provenance the scan checked: trigger-scan/model-signature (`status`, `method`), trigger-scan/training-provenance (`status`, `bound`), trigger-scan/trust-policy (`matched`)'),
});

export const TestResultStatementSchema = z
  .object({
    _type: z.literal(IN_TOTO_STATEMENT_V1),
    subject: z
      .array(z.object({ name: z.string(), digest: z.object({ sha256: sha256Hex.describe('model_signing root digest'), dirHash1: sha256Hex.describe('directory digest') }) }))
      .length(1)
      .describe('the model'),
    predicateType: z.literal(TEST_RESULT_PREDICATE),
    predicate: z.object({
      result: z.enum(TEST_RESULT_LEVELS).describe('from the report verdict: clean PASSED, suspicious WARNED, flagged FAILED'),
      configuration: z.array(ResourceDescriptorSchema).describe('the report file, every probe pack, and the signature, training provenance and trust policy checked'),
      failedTests: z.array(z.string()).optional().describe('keys of flagged test rows'),
      warnedTests: z.array(z.string()).optional().describe('keys of suspicious test rows'),
    }),
  })
  .describe('trigger-scan scan attestation (DSSE payload)');

export type TestResultStatement = z.infer<typeof TestResultStatementSchema>;
export type TestResultLevel = (typeof TEST_RESULT_LEVELS)[number];
