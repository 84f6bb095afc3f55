/**
 * The results log (`results.log` in the report folder): an append-only record of a scan's finished
 * work, so that a scan killed by the OOM killer, a reboot or kill -9 continues where it stopped
 * (`--resume`) and shards can be merged. One JSON record per line, each carrying the sha256 of its
 * body; every record is flushed to disk (fsync) before the next unit starts, so a crash loses at most
 * the unit in flight. Reading stops at the first record that is torn or does not match its checksum:
 * that record and anything after it are redone, never trusted.
 *
 *   {"sum":"<sha256 of rec>","rec":{"kind":"header",...}}   the scan's identity and its plan
 *   {"sum":"…","rec":{"kind":"clean",...}}                   the clean references
 *   {"sum":"…","rec":{"kind":"unit",...}}                    one work unit's probe outcomes
 */
import { createHash } from 'node:crypto';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';

export const RESULTS_LOG = 'results.log';
export const RESULTS_LOG_FORMAT = 1;

/** Logs larger than this are not a scan's (a million-probe scan writes a few hundred megabytes). */
const MAX_LOG_BYTES = 2 * 1024 * 1024 * 1024;

export interface HeaderRecord<State = unknown> {
  kind: 'header';
  format: number;
  tool: string;
  /** Hash of the scan's inputs: model digest, packs, settings, discovery options. */
  identity: string;
  /** Hash of the planned work (plan, detectors, discovered candidates): equal for every shard of one scan. */
  work: string;
  threads: number;
  shard: { index: number; count: number } | null;
  state: State;
}

export interface CleanRecord<Clean = unknown> {
  kind: 'clean';
  references: Clean;
}

export interface UnitRecord<Outcome = unknown, Stats = unknown> {
  kind: 'unit';
  unit: number;
  key: string;
  probes: number[];
  outcomes: Outcome[];
  stats: Stats;
}

export type LogRecord = HeaderRecord | CleanRecord | UnitRecord;

const PREFIX = '{"sum":"';
const MIDDLE = '","rec":';

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

export function encodeRecord(rec: LogRecord): string {
  const body = JSON.stringify(rec);
  return `${PREFIX}${sha256(body)}${MIDDLE}${body}}\n`;
}

/** The record on one line, or undefined when the line is torn, altered or not a record. */
export function decodeRecord(line: string): LogRecord | undefined {
  if (!line.startsWith(PREFIX) || !line.endsWith('}')) return undefined;
  const sum = line.slice(PREFIX.length, PREFIX.length + 64);
  if (line.slice(PREFIX.length + 64, PREFIX.length + 64 + MIDDLE.length) !== MIDDLE) return undefined;
  const body = line.slice(PREFIX.length + 64 + MIDDLE.length, -1);
  if (!/^[0-9a-f]{64}$/.test(sum) || sha256(body) !== sum) return undefined;
  try {
    const rec = JSON.parse(body) as LogRecord;
    return rec && typeof rec === 'object' && ['header', 'clean', 'unit'].includes((rec as { kind?: string }).kind ?? '') ? rec : undefined;
  } catch {
    return undefined;
  }
}

export interface LogContents {
  header: HeaderRecord | undefined;
  clean: CleanRecord | undefined;
  units: Map<number, UnitRecord>;
  /** Bytes of the valid records from the start: appending continues here. */
  validBytes: number;
  /** Bytes after them that were dropped (a torn last record, or anything after a bad one). */
  droppedBytes: number;
}

/** Read a results log; a missing file is an empty log. Records after the header's first must follow it. */
export async function readResultsLog(file: string): Promise<LogContents> {
  const empty: LogContents = { header: undefined, clean: undefined, units: new Map(), validBytes: 0, droppedBytes: 0 };
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new UserError('E_OUT', `${file}: cannot read the results log (${err.code ?? err.message})`, file);
  });
  if (!st) return empty;
  if (!st.isFile()) throw new UserError('E_OUT', `${file}: the results log is not a regular file`, file);
  if (st.size > MAX_LOG_BYTES) throw new UserError('E_OUT', `${file}: results log larger than 2 GiB; not one this tool wrote (remove it)`, file);
  const bytes = await readFile(file);
  const out = empty;
  let at = 0;
  while (at < bytes.length) {
    const nl = bytes.indexOf(0x0a, at);
    // A last line without its newline was cut short: not trusted, whatever it contains.
    if (nl < 0) break;
    const rec = decodeRecord(bytes.subarray(at, nl).toString('utf8'));
    if (!rec) break;
    if (!out.header) {
      if (rec.kind !== 'header') break;
      out.header = rec;
    } else if (rec.kind === 'header') break;
    else if (rec.kind === 'clean') out.clean = rec;
    else out.units.set(rec.unit, rec);
    at = nl + 1;
  }
  out.validBytes = at;
  out.droppedBytes = bytes.length - at;
  return out;
}

/** Appends records, each flushed to disk before `append` returns; counts what that costs. */
export class ResultsLogWriter {
  /** Time spent writing and flushing records, for the log's overhead. */
  writeMs = 0;
  bytes = 0;
  records = 0;

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    /** Where the next record goes (writes are positioned: the handle is not opened for appending). */
    private pos: number,
  ) {}

  /** A new log holding only `header` (an older log in its place is replaced). */
  static async create(file: string, header: HeaderRecord): Promise<ResultsLogWriter> {
    const fh = await openLog(file, 'w');
    const w = new ResultsLogWriter(file, fh, 0);
    await w.append(header);
    // The file's name must survive a crash too.
    await syncFolder(path.dirname(file));
    return w;
  }

  /** Continue a log after its valid records: whatever follows them (a torn record) is cut off. */
  static async resume(file: string, validBytes: number): Promise<ResultsLogWriter> {
    const fh = await openLog(file, 'r+');
    await fh.truncate(validBytes);
    await fh.sync();
    return new ResultsLogWriter(file, fh, validBytes);
  }

  async append(rec: LogRecord): Promise<void> {
    const t0 = performance.now();
    const line = Buffer.from(encodeRecord(rec), 'utf8');
    try {
      for (let off = 0; off < line.length; ) off += (await this.fh.write(line, off, line.length - off, this.pos + off)).bytesWritten;
      await this.fh.sync();
    } catch (err) {
      throw new UserError('E_OUT', `${this.file}: cannot write the results log (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, this.file);
    }
    this.pos += line.length;
    this.bytes += line.length;
    this.records++;
    this.writeMs += performance.now() - t0;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

async function openLog(file: string, flags: 'w' | 'r+'): Promise<FileHandle> {
  try {
    return await open(file, flags);
  } catch (err) {
    throw new UserError('E_OUT', `${file}: cannot open the results log (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, file);
  }
}

async function syncFolder(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close().catch(() => undefined);
}
