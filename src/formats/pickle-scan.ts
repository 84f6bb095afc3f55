import { describeOpenError } from '../util/regular-file.js';
import { bufferSource, fileSource, subSource } from './byte-source.js';
import type { ByteSource } from './byte-source.js';
import { finding } from './finding.js';
import type { Finding, Severity } from './finding.js';
import { parseNpyHeader } from './npy.js';
import { classifyGlobal } from './pickle-policy.js';
import type { GlobalVerdict } from './pickle-policy.js';
import { PICKLE_OPCODES, walkPickle } from './pickle-walk.js';
import type { PickleGlobal, PickleWalkResult } from './pickle-walk.js';
import { SNIFF_BYTES, sniff } from './sniff.js';
import { overlappingEntries, readLocalHeader, readZipDirectory, readZipEntry, unverifiableReason } from './zip-reader.js';
import type { ZipEntry } from './zip-reader.js';

/**
 * Finds what a file would import if a pickle loader read it. trigger-scan never loads pickles;
 * this exists to tell the user what the file would do to anyone who did. Files are recognised by
 * their bytes, never their names: plain pickles (any protocol), legacy torch files (several pickles
 * then raw storage), ZIP archives (torch checkpoints, .npz, or any ZIP, nested ones included),
 * NumPy .npy files with an object dtype (their data is a pickle), and archive formats we cannot
 * open (7z, RAR, gzip, ...), which are reported as unverifiable.
 *
 * Fail closed: a file that could not be fully checked (a scan cap, an archive we cannot read, an
 * archive whose records disagree) is a critical finding, never a pass.
 */

export interface PickleScanOptions {
  /** Bytes of pickle data walked per pickle stream; legacy and zip pickles are tiny next to the weights. */
  maxScanBytes?: number;
  maxOpcodes?: number;
  maxZipEntries?: number;
  /** ZIPs inside ZIPs are opened this deep; deeper ones are unverifiable. */
  maxNesting?: number;
  /**
   * The file's name suggests a pickle (`.bin`, `.pt`, ...): when its bytes say otherwise, say so
   * (`pickle.not-a-pickle`, info). Default true; the folder audit passes false for other names,
   * whose files then produce no finding unless their bytes are a pickle or an archive.
   */
  namedLikePickle?: boolean;
}

export interface ScannedGlobal extends PickleGlobal {
  /** The archive entry the pickle came from (`a.zip:b.npy` for nested archives). */
  entry?: string;
  verdict: GlobalVerdict['kind'];
}

export interface PickleScanReport {
  file: string;
  format: 'pickle' | 'legacy-torch' | 'torch-zip' | 'zip' | 'npy' | 'archive' | 'not-a-pickle' | 'unreadable';
  /** Pickle streams found (in archive entries and object arrays too). */
  pickles: number;
  globals: ScannedGlobal[];
  findings: Finding[];
}

const DEFAULTS = { maxScanBytes: 64 * 1024 * 1024, maxOpcodes: 20_000_000, maxZipEntries: 200_000, maxNesting: 3 };
/** A headerless stream gets a short trial walk first; only what looks like a pickle is walked in full. */
const TRIAL_BYTES = 1024 * 1024;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

interface Scan {
  file: string;
  opts: PickleScanOptions;
  report: PickleScanReport;
}

/** Where in the file a finding is: the file itself, or an archive entry path. */
type Entry = string | undefined;

function add(s: Scan, entry: Entry, id: string, severity: Severity, message: string, detail: Record<string, unknown> = {}): void {
  const where = entry === undefined ? s.file : `${s.file}:${entry}`;
  s.report.findings.push(finding(id, severity, s.file, `${where}: ${message}`, entry === undefined ? detail : { entry, ...detail }));
}

/** Scan one file. Never throws: unreadable or malformed input becomes findings. */
export async function scanPickleFile(file: string, opts: PickleScanOptions = {}): Promise<PickleScanReport> {
  const report: PickleScanReport = { file, format: 'unreadable', pickles: 0, globals: [], findings: [] };
  const s: Scan = { file, opts, report };
  let src: ByteSource;
  try {
    src = await fileSource(file);
  } catch (err) {
    add(s, undefined, 'pickle.unreadable', 'high', describeOpenError(err));
    return report;
  }
  try {
    report.format = 'not-a-pickle';
    await scanBlob(s, src, undefined, 0, opts.namedLikePickle ?? true);
    await scanTrailingZip(s, src);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    add(s, undefined, 'pickle.unreadable', 'high', `read failed (${e.code ?? e.message})`);
  } finally {
    await src.close().catch(() => {});
  }
  return report;
}

/** Scan bytes already in memory (a pickle stream, a ZIP, an .npy...). */
export async function scanPickleBytes(bytes: Uint8Array, name: string, opts: PickleScanOptions = {}): Promise<PickleScanReport> {
  const report: PickleScanReport = { file: name, format: 'not-a-pickle', pickles: 0, globals: [], findings: [] };
  const s: Scan = { file: name, opts: { namedLikePickle: true, ...opts }, report };
  const src = bufferSource(bytes);
  await scanBlob(s, src, undefined, 0, s.opts.namedLikePickle ?? true);
  await scanTrailingZip(s, src);
  return report;
}

function setFormat(s: Scan, entry: Entry, format: PickleScanReport['format']): void {
  if (entry === undefined) s.report.format = format;
}

/** One file or archive entry, classified by its bytes. `named` says its name promises a pickle. */
async function scanBlob(s: Scan, src: ByteSource, entry: Entry, depth: number, named: boolean): Promise<void> {
  const head = await src.read(0, SNIFF_BYTES);
  const kind = sniff(head);
  switch (kind.kind) {
    case 'zip':
      return scanZip(s, src, entry, depth, named);
    case 'npy':
      return scanNpy(s, src, entry);
    case 'unopenable-archive':
      setFormat(s, entry, 'archive');
      add(s, entry, 'archive.unverifiable', 'critical', `is a ${kind.format} archive, which trigger-scan cannot open; what it holds (pickles included) is unverified`, { format: kind.format });
      return;
    case 'safetensors':
      // Eight bytes of length then '{', which no unpickler gets past: the safetensors audit owns it.
      if (named) add(s, entry, 'pickle.not-a-pickle', 'info', 'is a safetensors file, not a pickle');
      return;
    default:
      return scanStream(s, src, entry, named, kind.kind === 'pickle');
  }
}

/** A pickle stream, or something that might be one (headerless protocol 0/1 pickles start with any opcode). */
async function scanStream(s: Scan, src: ByteSource, entry: Entry, named: boolean, header: boolean): Promise<void> {
  const max = s.opts.maxScanBytes ?? DEFAULTS.maxScanBytes;
  const maxOpcodes = s.opts.maxOpcodes ?? DEFAULTS.maxOpcodes;
  const first = (await src.read(0, 1))[0];
  if (first === undefined || !PICKLE_OPCODES.has(first)) {
    // The unpickler would fail on the first byte before doing anything.
    if (named) add(s, entry, 'pickle.not-a-pickle', 'info', src.size === 0 ? 'empty' : `does not start with a pickle opcode (0x${(first as number).toString(16)})`);
    return;
  }
  if (!header && src.size > TRIAL_BYTES) {
    const trial = walkPickle(await src.read(0, TRIAL_BYTES), { complete: false, maxOpcodes });
    if (!isPickle(trial, false)) {
      if (named) add(s, entry, 'pickle.not-a-pickle', 'info', 'is not a pickle (its first bytes do not parse as one)');
      return;
    }
  }
  const bytes = await src.read(0, Math.min(src.size, max));
  const walk = walkPickle(bytes, { complete: src.size <= max, maxOpcodes });
  if (!isPickle(walk, header)) {
    if (named || header) add(s, entry, 'pickle.not-a-pickle', 'info', 'is not a pickle (its bytes do not parse as one)');
    return;
  }
  setFormat(s, entry, walk.legacyTorch ? 'legacy-torch' : 'pickle');
  s.report.pickles++;
  reportWalk(s, walk, entry);
}

/**
 * Whether a walk shows a pickle rather than data that happens to start with an opcode byte: it
 * completed a pickle, imported a name, or went through the extension registry. A walk cut short by
 * a scan limit counts, since what lies past the limit is unknown. Without any of these the
 * unpickler would run nothing that imports code, so the bytes are not reported as a pickle.
 */
function isPickle(w: PickleWalkResult, header: boolean): boolean {
  if (w.pickles > 0 || w.extensions.length > 0 || w.problems.some((p) => p.kind === 'limit')) return true;
  if (w.globals.some((g) => IDENTIFIER.test(g.module) && IDENTIFIER.test(g.name))) return true;
  // A protocol header counts unless the bytes after it fall apart without importing anything
  // (data that merely starts with 0x80 0x0n).
  return header && (w.unresolved.length > 0 || !w.problems.some((p) => p.kind === 'malformed'));
}

function reportWalk(s: Scan, walk: PickleWalkResult, entry: Entry): void {
  // One finding per distinct import, with where it happens; a state dict can repeat one import thousands of times.
  const grouped = new Map<string, { g: PickleGlobal; verdict: GlobalVerdict; offsets: number[] }>();
  for (const g of walk.globals) {
    const verdict = classifyGlobal(g.module, g.name);
    s.report.globals.push(entry === undefined ? { ...g, verdict: verdict.kind } : { ...g, entry, verdict: verdict.kind });
    const key = `${g.module}\u0000${g.name}`;
    const cur = grouped.get(key);
    if (cur) {
      if (cur.offsets.length < 10) cur.offsets.push(g.offset);
    } else grouped.set(key, { g, verdict, offsets: [g.offset] });
  }
  for (const { g, verdict, offsets } of grouped.values()) {
    const what = `${g.module}.${g.name}`;
    const detail = { module: g.module, name: g.name, opcode: g.opcode, offsets };
    if (verdict.kind === 'dangerous') add(s, entry, 'pickle.dangerous-global', 'critical', `imports ${JSON.stringify(what)} (${verdict.reason}); loading this file runs code`, { ...detail, reason: verdict.reason });
    else if (verdict.kind === 'unknown') add(s, entry, 'pickle.unknown-global', 'high', `imports ${JSON.stringify(what)}, which is not on the list of callables needed to rebuild tensors; loading this file calls it`, detail);
  }
  for (const u of walk.unresolved.slice(0, 10)) add(s, entry, 'pickle.unresolved-global', 'critical', `${u.detail} at byte ${u.offset}; the import is computed at load time`, { offset: u.offset });
  for (const x of walk.extensions.slice(0, 10)) add(s, entry, 'pickle.extension-code', 'high', `imports through copyreg extension code ${x.code} at byte ${x.offset}; what it names depends on the loading process`, { code: x.code, offset: x.offset });
  for (const p of walk.problems) {
    if (p.kind === 'limit') add(s, entry, 'pickle.scan-limit', 'critical', `could not be fully checked: ${p.message}; the rest was not scanned, so the file is refused`, { offset: p.offset });
    else if (p.kind === 'truncated') add(s, entry, 'pickle.truncated', 'medium', `${p.message}; imports before that point are listed`, { offset: p.offset });
    else add(s, entry, 'pickle.malformed', 'high', `malformed pickle: ${p.message}; an unpickler would still run everything before it, and nothing after it was scanned`, { offset: p.offset });
  }
  if (walk.trailingBytes > 0 && !walk.legacyTorch) add(s, entry, 'pickle.trailing-data', 'info', `${walk.trailingBytes} bytes follow the last pickle and are not pickle data`, { bytes: walk.trailingBytes });
}

/** A NumPy array file: an object dtype means the data after the header is a pickle. */
async function scanNpy(s: Scan, src: ByteSource, entry: Entry): Promise<void> {
  setFormat(s, entry, 'npy');
  const h = parseNpyHeader(await src.read(0, Math.min(src.size, 12 + 10_000)));
  if (!h.ok) {
    add(s, entry, 'numpy.malformed', 'medium', `NumPy file header cannot be read (${h.error})`, { error: h.error });
    return;
  }
  if (!h.objectDtype) return;
  add(s, entry, 'numpy.object-array', 'high', `NumPy array of dtype ${h.descr} stores Python objects as a pickle; numpy.load(allow_pickle=True) runs it`, { descr: h.descr });
  await scanStream(s, subSource(src, h.dataOffset, src.size - h.dataOffset), entry === undefined ? '(npy data)' : `${entry}:(npy data)`, true, false);
}

/**
 * A file whose end holds a ZIP directory although it does not start as one: Python's zipfile (and
 * numpy.load for .npz) open it as an archive, pickle.load reads its start. Both views are scanned.
 */
async function scanTrailingZip(s: Scan, src: ByteSource): Promise<void> {
  if (src.size < 22 || sniff(await src.read(0, 4)).kind === 'zip') return;
  const tail = await src.read(Math.max(0, src.size - 22 - 0xffff), Math.min(src.size, 22 + 0xffff));
  const sig = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
  if (Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength).lastIndexOf(sig) < 0) return;
  const dir = await readZipDirectory(src, { maxEntries: s.opts.maxZipEntries ?? DEFAULTS.maxZipEntries });
  if (!dir.ok) return;
  add(s, undefined, 'archive.polyglot', 'high', 'is also a ZIP archive (a ZIP directory ends the file): zip readers and pickle loaders see different contents; both were scanned');
  await scanZip(s, src, undefined, 0, false, false);
}

function entryProblem(s: Scan, name: string, p: { error: string; problem: 'unverifiable' | 'inconsistent' }): void {
  if (p.problem === 'unverifiable') add(s, name, 'archive.unverifiable', 'critical', `cannot be checked (${p.error}); whatever it holds is unverified`, { error: p.error });
  else add(s, name, 'archive.inconsistent', 'critical', `${p.error}; readers of this archive disagree about the entry`, { error: p.error });
}

async function scanZip(s: Scan, src: ByteSource, entry: Entry, depth: number, named: boolean, setsFormat = true): Promise<void> {
  if (setsFormat) setFormat(s, entry, 'zip');
  const max = s.opts.maxScanBytes ?? DEFAULTS.maxScanBytes;
  const maxNesting = s.opts.maxNesting ?? DEFAULTS.maxNesting;
  const sub = (name: string): string => (entry === undefined ? name : `${entry}:${name}`);
  if (depth >= maxNesting) {
    add(s, entry, 'archive.unverifiable', 'critical', `ZIP archive nested ${depth} deep; archives deeper than ${maxNesting} are not opened, so what it holds is unverified`);
    return;
  }
  const dir = await readZipDirectory(src, { maxEntries: s.opts.maxZipEntries ?? DEFAULTS.maxZipEntries });
  if (!dir.ok) {
    // A loader may still find something to unpickle in a damaged archive; we cannot vouch for it.
    add(s, entry, dir.problem === 'unverifiable' ? 'archive.unverifiable' : 'archive.inconsistent', 'critical', `ZIP archive cannot be read safely (${dir.error}); what it holds is unverified`, { error: dir.error });
    return;
  }
  const seen = new Set<string>();
  for (const e of dir.entries) {
    if (seen.has(e.name)) add(s, entry, 'pickle.zip-duplicate-entry', 'medium', `archive holds ${JSON.stringify(e.name)} more than once (readers disagree on which one counts); all copies scanned`, { name: e.name });
    seen.add(e.name);
  }
  // Every local header must agree with the directory, and no two entries may share bytes.
  const placed: { entry: ZipEntry; dataOffset: number }[] = [];
  for (const e of dir.entries) {
    const lh = await readLocalHeader(src, e);
    if (lh.ok) placed.push({ entry: e, dataOffset: lh.dataOffset });
    else add(s, sub(e.name), 'archive.inconsistent', 'critical', `${lh.error}; readers of this archive disagree about the entry`, { error: lh.error });
  }
  const overlap = overlappingEntries(placed, dir.directoryOffset);
  if (overlap) add(s, entry, 'archive.inconsistent', 'critical', `${overlap} (an overlapping-entry zip bomb, or two names for the same data)`, { error: overlap });

  for (const { entry: e, dataOffset } of placed) {
    const name = sub(e.name);
    const why = unverifiableReason(e);
    if (why) {
      add(s, name, 'archive.unverifiable', 'critical', `cannot be checked (${why}); whatever it holds is unverified`, { error: why });
      continue;
    }
    const pklName = e.name.endsWith('.pkl');
    let blob: ByteSource;
    let whole = true;
    if (e.method === 0) blob = subSource(src, dataOffset, e.compressedSize);
    else {
      const data = await readZipEntry(src, e, max, { dataOffset, prefixOnly: true });
      if (!data.ok) {
        entryProblem(s, name, data);
        continue;
      }
      blob = bufferSource(data.data);
      whole = !data.truncated;
    }
    const kind = sniff(await blob.read(0, SNIFF_BYTES)).kind;
    const needsAll = pklName || kind === 'pickle' || kind === 'zip' || kind === 'npy';
    if (needsAll && !whole) {
      add(s, name, 'archive.unverifiable', 'critical', `deflated entry declares ${e.uncompressedSize} bytes, past the ${max}-byte scan cap; it could not be checked`, { size: e.uncompressedSize });
      continue;
    }
    if (needsAll && e.method === 0 && e.compressedSize <= max) {
      // Read whole: the CRC must match too, or readers that check it and readers that do not disagree.
      const data = await readZipEntry(src, e, max, { dataOffset });
      if (!data.ok) {
        entryProblem(s, name, data);
        continue;
      }
    }
    await scanBlob(s, blob, name, depth + 1, pklName);
  }
  if (entry === undefined && setsFormat && dir.entries.some((e) => e.name.endsWith('.pkl'))) s.report.format = 'torch-zip';
  if (named && entry === undefined && !dir.entries.some((e) => e.name.endsWith('.pkl'))) add(s, entry, 'pickle.zip-no-pickle', 'low', 'ZIP archive has no .pkl entry, so it is not a checkpoint torch.load could use');
}
