import { UserError } from '../errors.js';
import { decodeUtf8, parseUntrustedJson, readSmallFile } from '../formats/untrusted-json.js';
import { REPORT_SCHEMA, REPORT_SCHEMA_VERSION, ScanReportSchema, type ScanReport } from './schema.js';
import { validateDocument } from './validate.js';

/**
 * Read a report.json written by this or an earlier trigger-scan, for `trigger-scan report`.
 *
 * The current schema version loads as is. An older one is brought up to date by the migration
 * registry, one version at a time (each migration turns version `from` into `from + 1`), so a
 * future schema change only adds one function. The result is validated by the report schema. A
 * newer version, or a file that is not a report, fails with one line that says what to do.
 */

export type RawReport = Record<string, unknown>;

export interface Migration {
  /** The version this migration reads; it returns version `from + 1`. */
  from: number;
  /** One line for the user: what changed. */
  describe: string;
  migrate(report: RawReport): RawReport;
}

const isObj = (x: unknown): x is RawReport => typeof x === 'object' && x !== null && !Array.isArray(x);
const rows = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);

/** Version 2 added where each trigger came from and a place for discovery and ordinary steering. */
const V1_TO_V2: Migration = {
  from: 1,
  describe: 'version 1 → 2: findings and tests record their source ("pack"), findings their discovery (none) and evidence (unknown: null); steering and discovery added (empty); provenance and fileFindings are null where a writer did not record them',
  migrate: (r) => {
    for (const f of [...rows(r.findings), ...rows(r.steering)]) {
      if (!isObj(f)) continue;
      Object.assign(f, { source: f.source ?? 'pack', discovery: f.discovery ?? null, evidence: f.evidence ?? null });
      if (isObj(f.convergence)) Object.assign(f.convergence, { fixedShare: f.convergence.fixedShare ?? null, cleanCount: f.convergence.cleanCount ?? null });
    }
    for (const t of rows(r.tests)) if (isObj(t)) t.source ??= 'pack';
    return { ...r, provenance: r.provenance ?? null, fileFindings: r.fileFindings ?? null, steering: r.steering ?? [], discovery: r.discovery ?? null };
  },
};

/** Version 3 added coverage (what of the plan ran) and the verdict level `partial`. */
const V2_TO_V3: Migration = {
  from: 2,
  describe: 'version 2 → 3: coverage added (complete: every test of the report ran); the verdict level "partial" is new; packs record their source (builtin or file), npm package (none) and pin status (builtin or off)',
  migrate: (r) => {
    const stats = isObj(r.stats) ? r.stats : {};
    const tests = typeof stats.tests === 'number' ? stats.tests : rows(r.tests).length;
    const units = rows(r.controlGroups).length;
    // Packs: where each came from (built-in or a file: npm packs are new) and no pin (packs were not pinned).
    for (const p of rows(r.packs)) if (isObj(p)) Object.assign(p, { source: p.source ?? (p.builtin ? 'builtin' : 'file'), package: p.package ?? null, pin: p.pin ?? (p.builtin ? 'builtin' : 'off') });
    return { ...r, coverage: r.coverage ?? { complete: true, reason: null, testsPlanned: tests, testsRun: tests, unitsPlanned: units, unitsRun: units, untested: [] } };
  },
};

/**
 * Version 4 added the `detector` statistic (how often a harmful detector fires, tested against the
 * controls); a detector below significance is suspicious only at the attack-success floor. A version-3
 * report's statistics and levels were decided by the older rule and stay as they were written.
 */
const V3_TO_V4: Migration = {
  from: 3,
  describe: 'version 3 → 4: statistics may hold "detector" (harmful-detector share against the controls); the rows of a version-3 report keep the levels its rule gave',
  migrate: (r) => r,
};

/**
 * Version 5 added the `inverted-payload` evidence kind: a discovered string that brings out the payload
 * target inversion found for it is a finding (before, a discovered string's fixed answer was steering
 * unless a detector called it harmful). A version-4 report's rows keep the levels its rule gave.
 */
const V4_TO_V5: Migration = {
  from: 4,
  describe: 'version 4 → 5: evidence may be "inverted-payload" (a discovered string brings out its inverted target); the rows of a version-4 report keep the levels its rule gave',
  migrate: (r) => r,
};

/** The registry: one entry per version step. Keep every older entry when adding one. */
export const MIGRATIONS: readonly Migration[] = [V1_TO_V2, V2_TO_V3, V3_TO_V4, V4_TO_V5];

export interface LoadOptions {
  /** Override the registry (tests). */
  migrations?: readonly Migration[];
}

export interface LoadedReport {
  report: ScanReport;
  /** The version the file was written with. */
  fromVersion: number;
  /** `describe` of each migration applied, oldest first. */
  migrated: string[];
}

/** Apply migrations until the report is at the current version, then validate it; `source` names the file in errors. */
export function upgradeReport(raw: unknown, source: string, opts: LoadOptions = {}): LoadedReport {
  const migrations = opts.migrations ?? MIGRATIONS;
  const target = REPORT_SCHEMA_VERSION;
  if (!isObj(raw)) throw new UserError('E_REPORT', `${source}: not a trigger-scan report (the JSON is not an object)`, source);
  if (raw.schema !== REPORT_SCHEMA) {
    const got = raw.schema === undefined ? 'no "schema" field' : `schema ${JSON.stringify(raw.schema)}`;
    throw new UserError('E_REPORT', `${source}: not a trigger-scan report (${got}; expected "${REPORT_SCHEMA}")`, source);
  }
  const v = raw.schemaVersion;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new UserError('E_REPORT', `${source}: report schemaVersion must be a whole number, got ${JSON.stringify(v) ?? 'nothing'}`, source);
  }
  if (v > target) {
    throw new UserError('E_REPORT_VERSION', `${source}: report schema version ${v} is newer than this trigger-scan supports (${target}); upgrade trigger-scan`, source);
  }
  let cur: RawReport = raw;
  const applied: string[] = [];
  for (let at = v; at < target; at++) {
    const m = migrations.find((x) => x.from === at);
    if (!m) {
      throw new UserError('E_REPORT_VERSION', `${source}: report schema version ${v} is older than this trigger-scan can read (no migration from version ${at}); re-run the scan`, source);
    }
    try {
      cur = m.migrate(structuredClone(cur));
    } catch (err) {
      throw new UserError('E_REPORT', `${source}: cannot migrate the report from schema version ${at} (${(err as Error).message})`, source);
    }
    cur.schemaVersion = at + 1;
    applied.push(m.describe);
  }
  const report = validateDocument(ScanReportSchema, cur, source, 'trigger-scan report');
  return { report, fromVersion: v, migrated: applied };
}

/** Reports are a few megabytes; a file this large is not one. */
const MAX_REPORT_BYTES = 256 * 1024 * 1024;

/**
 * The bytes of a report file and its JSON value: a regular file only (a FIFO would block), bounded,
 * UTF-8, and duplicate keys refused (two readers must not see different reports in one file).
 */
export async function readReportFile(file: string): Promise<{ bytes: Buffer; raw: unknown }> {
  const r = await readSmallFile(file, MAX_REPORT_BYTES);
  if (!r.ok) throw new UserError('E_REPORT', `${file}: ${r.code === 'ENOENT' ? 'report not found' : `cannot read the report (${r.error.replace(/^cannot read \((.*)\)$/, '$1')})`}`, file);
  const text = decodeUtf8(r.bytes);
  if (text === undefined) throw new UserError('E_REPORT', `${file}: not JSON (the file is not UTF-8)`, file);
  const parsed = parseUntrustedJson(text.replace(/^\ufeff/, ''));
  if (!parsed.ok) throw new UserError('E_REPORT', `${file}: ${parsed.error.startsWith('not valid JSON') ? parsed.error.replace(/^not valid JSON/, 'not JSON') : `not a valid trigger-scan report (${parsed.error})`}`, file);
  return { bytes: r.bytes, raw: parsed.value };
}

/** Read, migrate (if it is older) and validate a report.json, saying what was done. */
export async function loadReportDetailed(file: string, opts: LoadOptions = {}): Promise<LoadedReport> {
  return upgradeReport((await readReportFile(file)).raw, file, opts);
}

/** Read, migrate (if it is older) and validate a report.json. */
export async function loadReport(file: string, opts: LoadOptions = {}): Promise<ScanReport> {
  return (await loadReportDetailed(file, opts)).report;
}
