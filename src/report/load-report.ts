import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { REPORT_SCHEMA, REPORT_SCHEMA_VERSION, type ScanReport } from './schema.js';

/**
 * Read a report.json written by this or an earlier trigger-scan, for `trigger-scan report`.
 *
 * The current schema version loads as is. An older one is brought up to date by the migration
 * registry, one version at a time (each migration turns version `from` into `from + 1`), so a
 * future schema change only adds one function. A newer version, or a file that is not a report,
 * fails with one line that says what to do.
 */

export type RawReport = Record<string, unknown>;

export interface Migration {
  /** The version this migration reads; it returns version `from + 1`. */
  from: number;
  /** One line for the user: what changed. */
  describe: string;
  migrate(report: RawReport): RawReport;
}

/**
 * The registry. Empty: version 1 is the first published schema. When version 2 comes, add
 * `{ from: 1, describe: '...', migrate }` here and keep every older entry.
 */
export const MIGRATIONS: readonly Migration[] = [];

export interface LoadOptions {
  /** Override the registry (tests). */
  migrations?: readonly Migration[];
  /** Override the version to migrate to (tests of migration chains); default REPORT_SCHEMA_VERSION. */
  targetVersion?: number;
}

export interface LoadedReport {
  report: ScanReport;
  /** The version the file was written with. */
  fromVersion: number;
  /** `describe` of each migration applied, oldest first. */
  migrated: string[];
}

const isObj = (x: unknown): x is RawReport => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Apply migrations until the report is at the current version; `source` names the file in errors. */
export function upgradeReport(raw: unknown, source: string, opts: LoadOptions = {}): LoadedReport {
  const migrations = opts.migrations ?? MIGRATIONS;
  const target = opts.targetVersion ?? REPORT_SCHEMA_VERSION;
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
  checkShape(cur, source);
  return { report: cur as unknown as ScanReport, fromVersion: v, migrated: applied };
}

type Kind = 'object' | 'array' | 'string' | 'number';
/** The fields the renderers read; a report missing one is refused here rather than crashing a renderer. */
const REQUIRED: [string, Kind][] = [
  ['tool', 'object'], ['tool.version', 'string'],
  ['run', 'object'], ['run.startedAt', 'string'], ['run.finishedAt', 'string'], ['run.durationMs', 'number'],
  ['model', 'object'], ['model.dir', 'string'], ['model.graph', 'string'], ['model.rootDigest', 'string'], ['model.directoryDigest', 'string'], ['model.files', 'array'], ['model.architectures', 'array'],
  ['packs', 'array'], ['settings', 'object'], ['settings.seed', 'number'], ['settings.fdr', 'number'], ['settings.minAttackSuccess', 'number'],
  ['method', 'object'], ['stats', 'object'],
  ['verdict', 'object'], ['verdict.level', 'string'], ['verdict.summary', 'string'],
  ['findings', 'array'], ['tests', 'array'], ['clean', 'array'], ['controlGroups', 'array'], ['warnings', 'array'],
];

function checkShape(r: RawReport, source: string): void {
  for (const [p, kind] of REQUIRED) {
    let x: unknown = r;
    for (const k of p.split('.')) x = isObj(x) ? x[k] : undefined;
    const ok = kind === 'array' ? Array.isArray(x) : kind === 'object' ? isObj(x) : typeof x === kind;
    if (!ok) throw new UserError('E_REPORT', `${source}: not a valid trigger-scan report: "${p}" ${x === undefined ? 'is missing' : `should be ${kind === 'array' ? 'an array' : `a${kind === 'object' ? 'n' : ''} ${kind}`}`}`, source);
  }
  const level = (r.verdict as RawReport).level;
  if (!['flagged', 'suspicious', 'clean'].includes(level as string)) {
    throw new UserError('E_REPORT', `${source}: not a valid trigger-scan report: verdict.level ${JSON.stringify(level)} is not flagged, suspicious or clean`, source);
  }
}

export async function loadReportDetailed(file: string, opts: LoadOptions = {}): Promise<LoadedReport> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError('E_REPORT', `${file}: ${e.code === 'ENOENT' ? 'report not found' : `cannot read the report (${e.code ?? e.message})`}`, file);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\ufeff/, ''));
  } catch (err) {
    throw new UserError('E_REPORT', `${file}: not JSON (${(err as Error).message})`, file);
  }
  return upgradeReport(raw, file, opts);
}

/** Read, check and (if it is older) migrate a report.json. */
export async function loadReport(file: string, opts: LoadOptions = {}): Promise<ScanReport> {
  return (await loadReportDetailed(file, opts)).report;
}
