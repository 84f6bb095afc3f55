import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src/errors.js';
import { loadReport, loadReportDetailed, MIGRATIONS, upgradeReport, type Migration, type RawReport } from '../../src/report/load-report.js';
import { renderAll } from '../../src/report/render.js';
import { REPORT_SCHEMA_VERSION } from '../../src/report/schema.js';
import { flaggedReport, v1Report } from './fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-load-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const write = (name: string, value: unknown) => {
  const f = path.join(tmp, name);
  writeFileSync(f, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return f;
};

/**
 * A synthetic "version 0": a plausible earlier shape of report.json, defined here only to exercise
 * the registry (no released trigger-scan wrote it). It had no controlGroups, no warnings, and
 * recorded only start and finish times.
 */
function version0(): RawReport {
  const r = v1Report();
  r.schemaVersion = 0;
  delete r.controlGroups;
  delete r.warnings;
  delete (r.run as RawReport).durationMs;
  return r;
}

const V0_TO_V1: Migration = {
  from: 0,
  describe: 'version 0 → 1: controlGroups and warnings added (empty), run.durationMs computed from the run times',
  migrate: (r) => {
    const run = r.run as { startedAt: string; finishedAt: string; durationMs?: number };
    return {
      ...r,
      run: { ...run, durationMs: run.durationMs ?? Date.parse(run.finishedAt) - Date.parse(run.startedAt) },
      controlGroups: r.controlGroups ?? [],
      warnings: r.warnings ?? [],
    };
  },
};

async function userError(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isUserError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a UserError');
}

describe('loadReport', () => {
  it('loads the current version unchanged', async () => {
    const r = flaggedReport();
    const f = write('current.json', r);
    const loaded = await loadReportDetailed(f);
    expect(loaded.fromVersion).toBe(REPORT_SCHEMA_VERSION);
    expect(loaded.migrated).toEqual([]);
    expect(loaded.report).toEqual(r);
  });

  it('ships four migrations: version 1 (trigger-scan 0.1.0) to 2, 2 to 3, 3 to 4, 4 to 5', () => {
    expect(REPORT_SCHEMA_VERSION).toBe(5);
    expect(MIGRATIONS.map((m) => m.from)).toEqual([1, 2, 3, 4]);
  });

  it('loads a version 4 report as written: its evidence and levels came from its own rule', async () => {
    const loaded = await loadReportDetailed(write('v4.json', { ...flaggedReport(), schemaVersion: 4 }));
    expect(loaded.fromVersion).toBe(4);
    expect(loaded.migrated).toEqual([MIGRATIONS[3]!.describe]);
    expect(loaded.report).toEqual(flaggedReport());
  });

  it('loads a version 3 report as written: its statistics and levels came from its own rule', async () => {
    const loaded = await loadReportDetailed(write('v3.json', { ...flaggedReport(), schemaVersion: 3 }));
    expect(loaded.fromVersion).toBe(3);
    expect(loaded.migrated).toEqual([MIGRATIONS[2]!.describe, MIGRATIONS[3]!.describe]);
    expect(loaded.report).toEqual(flaggedReport());
  });

  it('migrates a version 2 report (no coverage) to a complete scan', async () => {
    const v2 = { ...flaggedReport(), schemaVersion: 2 } as Record<string, unknown>;
    delete v2.coverage;
    const loaded = await loadReportDetailed(write('v2.json', v2));
    expect(loaded.migrated).toEqual([MIGRATIONS[1]!.describe, MIGRATIONS[2]!.describe, MIGRATIONS[3]!.describe]);
    expect(loaded.report).toEqual(flaggedReport());
    expect(loaded.report.coverage).toMatchObject({ complete: true, reason: null, untested: [] });
  });

  it('migrates a version 1 report to exactly what version 5 writes', async () => {
    const loaded = await loadReportDetailed(write('v1.json', v1Report()));
    expect(loaded.fromVersion).toBe(1);
    expect(loaded.migrated).toEqual([MIGRATIONS[0]!.describe, MIGRATIONS[1]!.describe, MIGRATIONS[2]!.describe, MIGRATIONS[3]!.describe]);
    expect(loaded.report).toEqual(flaggedReport());
    expect(loaded.report.findings.every((f) => f.source === 'pack' && f.discovery === null)).toBe(true);
    expect(loaded.report.tests.every((t) => t.source === 'pack')).toBe(true);
    expect(loaded.report.steering).toEqual([]);
    expect(loaded.report.discovery).toBeNull();
  });

  it('a version 1 report without provenance or file checks says "not recorded" (null), not "none"', () => {
    const r = v1Report();
    delete r.provenance;
    delete r.fileFindings;
    const up = upgradeReport(r, 'old.json');
    expect(up.report.provenance).toBeNull();
    expect(up.report.fileFindings).toBeNull();
  });

  it('migrates an older version through the registry and renders it', async () => {
    const f = write('v0.json', version0());
    const loaded = await loadReportDetailed(f, { migrations: [...MIGRATIONS, V0_TO_V1] });
    expect(loaded.fromVersion).toBe(0);
    expect(loaded.migrated).toEqual([V0_TO_V1.describe, MIGRATIONS[0]!.describe, MIGRATIONS[1]!.describe, MIGRATIONS[2]!.describe, MIGRATIONS[3]!.describe]);
    expect(loaded.report.schemaVersion).toBe(5);
    expect(loaded.report.controlGroups).toEqual([]);
    expect(loaded.report.warnings).toEqual([]);
    expect(loaded.report.run.durationMs).toBe(134_082);
    expect(loaded.report.findings).toEqual(flaggedReport().findings);

    const out = path.join(tmp, 'v0-out');
    const files = await renderAll(loaded.report, ['json', 'md', 'html', 'sarif', 'junit'], out);
    expect(files.map((x) => path.basename(x))).toEqual(['report.json', 'report.md', 'report.html', 'report.sarif', 'report.junit.xml']);
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('Verdict: Flagged');
    // The re-written report.json is at the current version and loads without migrations.
    expect((await loadReportDetailed(path.join(out, 'report.json'))).fromVersion).toBe(5);
  });

  it('chains migrations one version at a time, oldest first', () => {
    const calls: number[] = [];
    const spy = (m: Migration): Migration => ({ ...m, migrate: (r) => (calls.push(m.from), m.migrate(r)) });
    // Registry order does not matter; each step is looked up by the version it reads.
    const up = upgradeReport(version0(), 'x.json', { migrations: [spy(MIGRATIONS[3]!), spy(MIGRATIONS[2]!), spy(MIGRATIONS[1]!), spy(MIGRATIONS[0]!), spy(V0_TO_V1)] });
    expect(calls).toEqual([0, 1, 2, 3, 4]);
    expect(up.migrated).toEqual([V0_TO_V1.describe, MIGRATIONS[0]!.describe, MIGRATIONS[1]!.describe, MIGRATIONS[2]!.describe, MIGRATIONS[3]!.describe]);
    expect(up.report.schemaVersion).toBe(5);
    // The input object is left alone.
    const raw = version0();
    upgradeReport(raw, 'x.json', { migrations: [...MIGRATIONS, V0_TO_V1] });
    expect(raw.schemaVersion).toBe(0);
    expect('warnings' in raw).toBe(false);
  });

  it('names the missing step, and a migration that throws', () => {
    const catchMsg = (f: () => unknown) => { try { f(); } catch (e) { return (e as Error).message; } return ''; };
    expect(catchMsg(() => upgradeReport(version0(), 'x.json', { migrations: [V0_TO_V1] }))).toBe(
      'x.json: report schema version 0 is older than this trigger-scan can read (no migration from version 1); re-run the scan',
    );
    const boom: Migration = { from: 0, describe: 'boom', migrate: () => { throw new Error('findings[3] has no key'); } };
    expect(catchMsg(() => upgradeReport(version0(), 'x.json', { migrations: [boom] }))).toBe('x.json: cannot migrate the report from schema version 0 (findings[3] has no key)');
    // A migration that forgets a field is caught by the schema.
    const sloppy: Migration = { from: 0, describe: 'sloppy', migrate: (r) => r };
    expect(catchMsg(() => upgradeReport(version0(), 'x.json', { migrations: [sloppy, ...MIGRATIONS] }))).toBe('x.json: not a valid trigger-scan report: "run.durationMs" is missing');
  });

  it('refuses an older version it has no migration for', async () => {
    const f = write('v0-no-migration.json', version0());
    const e = await userError(loadReport(f));
    expect(e.code).toBe('E_REPORT_VERSION');
    expect(e.message).toBe(`${f}: report schema version 0 is older than this trigger-scan can read (no migration from version 0); re-run the scan`);
  });

  it('refuses a newer version with one clear line', async () => {
    const f = write('v7.json', { ...flaggedReport(), schemaVersion: 7 });
    const e = await userError(loadReport(f));
    expect(e.code).toBe('E_REPORT_VERSION');
    expect(e.message).toBe(`${f}: report schema version 7 is newer than this trigger-scan supports (5); upgrade trigger-scan`);
    expect(e.message).not.toContain('\n');
  });

  it('refuses files that are not reports', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['no-schema.json', { schemaVersion: 1 }, /no-schema\.json: not a trigger-scan report \(no "schema" field; expected "trigger-scan\/report"\)$/],
      ['other-schema.json', { schema: 'sarif', schemaVersion: 1 }, /other-schema\.json: not a trigger-scan report \(schema "sarif"; expected "trigger-scan\/report"\)$/],
      ['array.json', [1, 2], /array\.json: not a trigger-scan report \(the JSON is not an object\)$/],
      ['bad-version.json', { schema: 'trigger-scan/report', schemaVersion: '1' }, /bad-version\.json: report schemaVersion must be a whole number, got "1"$/],
      ['no-version.json', { schema: 'trigger-scan/report' }, /no-version\.json: report schemaVersion must be a whole number, got nothing$/],
      ['not-json.json', '{"schema": "trigger-scan/report",', /not-json\.json: not JSON \(/],
      ['truncated.json', { ...flaggedReport(), verdict: undefined }, /truncated\.json: not a valid trigger-scan report: "verdict" is missing$/],
      ['bad-level.json', { ...flaggedReport(), verdict: { level: 'maybe', summary: '', flagged: 0, suspicious: 0 } }, /bad-level\.json: not a valid trigger-scan report: "verdict\.level" is "maybe", not one of flagged, suspicious, clean, partial$/],
      ['bad-tests.json', { ...flaggedReport(), tests: {} }, /bad-tests\.json: not a valid trigger-scan report: "tests" should be an array, not \{\}$/],
      ['bad-row.json', { ...flaggedReport(), findings: flaggedReport().findings.map((f, i) => (i === 3 ? { ...f, trigger: { ...f.trigger, ref: 7 } } : f)) },
        /bad-row\.json: not a valid trigger-scan report: "findings\[3\]\.trigger\.ref" should be a string, not 7$/],
      ['bad-placement.json', { ...flaggedReport(), tests: [{ ...flaggedReport().tests[0]!, placement: 'middle' }] },
        /bad-placement\.json: not a valid trigger-scan report: "tests\[0\]\.placement" is "middle", not one of prefix, suffix, word, context, template$/],
      ['bad-digest.json', { ...flaggedReport(), model: { ...flaggedReport().model, rootDigest: 'abc' } }, /bad-digest\.json: not a valid trigger-scan report: "model\.rootDigest" is "abc", not matching/],
      ['duplicate-key.json', '{"schema": "trigger-scan/report", "schema": "x"}', /duplicate-key\.json: not a valid trigger-scan report \(duplicate key "schema"/],
    ];
    for (const [name, value, re] of cases) {
      const e = await userError(loadReport(write(name, value)));
      expect(e.message, name).toMatch(re);
      expect(e.message).not.toContain('\n');
    }
    expect((await userError(loadReport(path.join(tmp, 'missing.json')))).message).toMatch(/missing\.json: report not found$/);
  });

  it('accepts a byte-order mark', async () => {
    const f = write('bom.json', `\ufeff${JSON.stringify(flaggedReport())}`);
    expect((await loadReport(f)).verdict.level).toBe('flagged');
  });
});
