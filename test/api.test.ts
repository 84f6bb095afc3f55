import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import { DEMO, REPO } from './helpers/paths.js';

/** What the CLI does, by command; each name must be a function of the package entry. */
const COMMANDS: Record<string, string[]> = {
  scan: ['scanModel', 'writeReports', 'renderAll', 'prepareOutputFolder', 'exitCodeFor', 'visible'],
  hunt: ['huntModel'],
  'scan --shard / merge': ['scanShard', 'mergeShards', 'readResultsLog', 'acquireLock'],
  'scan --resume / --max-time / --max-memory': ['executeUnits', 'planUnits', 'valueOrder', 'checkMemory', 'estimateMemory', 'parseSize'],
  diff: ['diffReports', 'diffFails', 'renderDiffText', 'recordHistory'],
  'packs init / npm:': ['scaffoldPackPackage', 'listNpmPacks', 'loadNpmPack', 'checkPackPins'],
  'scan-all': ['scanAll', 'listModels', 'writeSummary', 'combinedExitCode', 'renderSummaryMarkdown', 'renderSummaryHtml'],
  verify: ['verifyModel', 'verifyReport', 'auditModelFolder', 'verifyKeylessBundle', 'loadTrustRoot', 'checkTrainingProvenance', 'loadTrustPolicy', 'resolvePolicy', 'evaluatePolicy', 'detectHfSnapshot', 'attestationHeadline', 'attestationLines', 'policyItem', 'signerState', 'trustRootLine'],
  'pin list|update|revoke': ['listPins', 'pinModelFolder', 'updatePin', 'revokePin', 'checkPins', 'defaultPinFile', 'buildManifest'],
  'attest / verify-attestation': ['attestReport', 'verifyAttestation', 'checkSigningKey'],
  'packs list|show|validate': ['listBuiltinPacks', 'loadPack', 'loadPacks'],
  report: ['loadReport', 'loadReportDetailed', 'upgradeReport', 'provenanceItems', 'renderMarkdown', 'renderHtml', 'renderSarif', 'renderJunit', 'renderFormat', 'parseFormats'],
  inspect: ['inspectModel', 'renderInspect'],
};

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-api-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the package entry (src/index.ts)', () => {
  for (const [command, names] of Object.entries(COMMANDS)) {
    it(`exports what \`${command}\` does`, () => {
      for (const n of names) expect(typeof (api as Record<string, unknown>)[n], n).toBe('function');
    });
  }

  it('exports the document schemas, the version from package.json and the migration registry', async () => {
    const { readFileSync } = await import('node:fs');
    expect(api.VERSION).toBe(JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version);
    expect(api.REPORT_SCHEMA_VERSION).toBe(5);
    expect(typeof api.ScanReportSchema.parse).toBe('function');
    expect(typeof api.VerifyReportSchema.parse).toBe('function');
    expect(typeof api.TestResultStatementSchema.parse).toBe('function');
    expect(api.MIGRATIONS.map((m) => m.from)).toEqual([1, 2, 3, 4]);
  });

  it('verifyModel pins nothing unless asked', async () => {
    const pins = path.join(tmp, 'pins.json');
    const before = process.env.TRIGGER_SCAN_PINS;
    process.env.TRIGGER_SCAN_PINS = pins;
    try {
      const { report } = await api.verifyModel(DEMO.clean);
      expect(report.pin.status).toBe('off');
      expect(existsSync(pins)).toBe(false);
      const asked = await api.verifyModel(DEMO.clean, { pins: { mode: 'accept-new', file: pins } });
      expect(asked.report.pin.status).toBe('recorded');
      expect(existsSync(pins)).toBe(true);
    } finally {
      if (before === undefined) delete process.env.TRIGGER_SCAN_PINS;
      else process.env.TRIGGER_SCAN_PINS = before;
    }
  });
});
