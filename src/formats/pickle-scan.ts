import { fileSource } from './byte-source.js';
import type { ByteSource } from './byte-source.js';
import { finding } from './finding.js';
import type { Finding, Severity } from './finding.js';
import { classifyGlobal } from './pickle-policy.js';
import type { GlobalVerdict } from './pickle-policy.js';
import { PICKLE_OPCODES, walkPickle } from './pickle-walk.js';
import type { PickleGlobal, PickleWalkResult } from './pickle-walk.js';
import { ZIP_EMPTY_MAGIC, ZIP_MAGIC, readZipDirectory, readZipEntry } from './zip-reader.js';

/**
 * Scans pickle-based checkpoints (`pytorch_model.bin`, `.pt`, `.ckpt`, ...) for the imports they
 * would perform if loaded. trigger-scan never loads them; this exists to tell the user what the
 * file would do to anyone who did. Plain pickles, legacy torch files (several pickles then raw
 * storage) and zip-wrapped torch archives (every `*.pkl` entry) are handled.
 */

export interface PickleScanOptions {
  /** Bytes of pickle data walked per pickle stream; legacy and zip pickles are tiny next to the weights. */
  maxScanBytes?: number;
  maxOpcodes?: number;
  maxZipEntries?: number;
}

export interface ScannedGlobal extends PickleGlobal {
  /** The archive entry the pickle came from, for zip-wrapped files. */
  entry?: string;
  verdict: GlobalVerdict['kind'];
}

export interface PickleScanReport {
  file: string;
  format: 'pickle' | 'legacy-torch' | 'torch-zip' | 'not-a-pickle' | 'unreadable';
  globals: ScannedGlobal[];
  findings: Finding[];
}

const DEFAULTS = { maxScanBytes: 64 * 1024 * 1024, maxOpcodes: 20_000_000, maxZipEntries: 200_000 };

/** Scan one file. Never throws: unreadable or malformed input becomes findings. */
export async function scanPickleFile(file: string, opts: PickleScanOptions = {}): Promise<PickleScanReport> {
  const report: PickleScanReport = { file, format: 'unreadable', globals: [], findings: [] };
  let src: ByteSource;
  try {
    src = await fileSource(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    report.findings.push(finding('pickle.unreadable', 'high', file, `${file}: cannot read (${e.code ?? e.message})`));
    return report;
  }
  try {
    const head = await src.read(0, 4);
    if (startsWith(head, ZIP_MAGIC) || startsWith(head, ZIP_EMPTY_MAGIC)) await scanZip(file, src, opts, report);
    else {
      const max = opts.maxScanBytes ?? DEFAULTS.maxScanBytes;
      const bytes = await src.read(0, Math.min(src.size, max));
      scanStream(file, bytes, src.size <= max, undefined, opts, report);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    report.findings.push(finding('pickle.unreadable', 'high', file, `${file}: read failed (${e.code ?? e.message})`));
  } finally {
    await src.close().catch(() => {});
  }
  return report;
}

/** Scan a pickle already in memory (a bare pickle stream, not a zip). */
export function scanPickleBytes(bytes: Uint8Array, name: string, opts: PickleScanOptions = {}): PickleScanReport {
  const report: PickleScanReport = { file: name, format: 'unreadable', globals: [], findings: [] };
  scanStream(name, bytes, true, undefined, opts, report);
  return report;
}

function startsWith(b: Uint8Array, magic: Uint8Array): boolean {
  return b.length >= magic.length && magic.every((v, i) => b[i] === v);
}

async function scanZip(file: string, src: ByteSource, opts: PickleScanOptions, report: PickleScanReport): Promise<void> {
  report.format = 'torch-zip';
  const add = (id: string, severity: Severity, message: string, detail?: Record<string, unknown>): void => {
    report.findings.push(finding(id, severity, file, message, detail));
  };
  const dir = await readZipDirectory(src, { maxEntries: opts.maxZipEntries ?? DEFAULTS.maxZipEntries });
  if (!dir.ok) {
    // torch.load may still find something to unpickle in a damaged archive; we cannot vouch for it.
    add('pickle.zip-malformed', 'high', `${file}: ZIP archive cannot be read safely (${dir.error}); its pickles were not scanned`, { error: dir.error });
    return;
  }
  for (const w of dir.warnings) add('pickle.zip-malformed', 'medium', `${file}: ${w}`, { error: w });
  const seen = new Set<string>();
  const pickles = dir.entries.filter((e) => e.name.endsWith('.pkl'));
  for (const e of dir.entries) {
    if (seen.has(e.name)) add('pickle.zip-duplicate-entry', 'medium', `${file}: archive holds ${JSON.stringify(e.name)} more than once (readers disagree on which one counts); all copies scanned`, { entry: e.name });
    seen.add(e.name);
  }
  if (pickles.length === 0) {
    add('pickle.zip-no-pickle', 'low', `${file}: ZIP archive has no .pkl entry, so it is not a torch checkpoint torch.load could use`);
    return;
  }
  const max = opts.maxScanBytes ?? DEFAULTS.maxScanBytes;
  for (const e of pickles) {
    const data = await readZipEntry(src, e, max);
    if (!data.ok) {
      add(
        data.unsupported ? 'pickle.zip-entry-unscannable' : 'pickle.zip-malformed',
        data.unsupported ? 'medium' : 'high',
        `${file}: cannot scan archive entry ${JSON.stringify(e.name)} (${data.error})`,
        { entry: e.name, error: data.error },
      );
      continue;
    }
    scanStream(file, data.data, !data.truncated, e.name, opts, report);
  }
}

function scanStream(file: string, bytes: Uint8Array, complete: boolean, entry: string | undefined, opts: PickleScanOptions, report: PickleScanReport): void {
  const where = entry === undefined ? file : `${file}:${entry}`;
  const withEntry = (d: Record<string, unknown>): Record<string, unknown> => (entry === undefined ? d : { entry, ...d });
  const add = (id: string, severity: Severity, message: string, detail: Record<string, unknown> = {}): void => {
    report.findings.push(finding(id, severity, file, `${where}: ${message}`, withEntry(detail)));
  };
  const first = bytes[0];
  if (first === undefined || !PICKLE_OPCODES.has(first)) {
    // The unpickler would fail on the first byte before doing anything.
    if (entry === undefined) report.format = 'not-a-pickle';
    add('pickle.not-a-pickle', 'info', bytes.length === 0 ? 'empty' : `does not start with a pickle opcode (0x${(first as number).toString(16)})`);
    return;
  }
  const walk = walkPickle(bytes, { complete, maxOpcodes: opts.maxOpcodes ?? DEFAULTS.maxOpcodes });
  if (entry === undefined) report.format = walk.legacyTorch ? 'legacy-torch' : 'pickle';
  reportWalk(walk, entry, report, add);
}

function reportWalk(
  walk: PickleWalkResult,
  entry: string | undefined,
  report: PickleScanReport,
  add: (id: string, severity: Severity, message: string, detail?: Record<string, unknown>) => void,
): void {
  // One finding per distinct import, with where it happens; a state dict can repeat one import thousands of times.
  const grouped = new Map<string, { g: PickleGlobal; verdict: GlobalVerdict; offsets: number[] }>();
  for (const g of walk.globals) {
    const verdict = classifyGlobal(g.module, g.name);
    report.globals.push(entry === undefined ? { ...g, verdict: verdict.kind } : { ...g, entry, verdict: verdict.kind });
    const key = `${g.module}\u0000${g.name}`;
    const cur = grouped.get(key);
    if (cur) {
      if (cur.offsets.length < 10) cur.offsets.push(g.offset);
    } else grouped.set(key, { g, verdict, offsets: [g.offset] });
  }
  for (const { g, verdict, offsets } of grouped.values()) {
    const what = `${g.module}.${g.name}`;
    const detail = { module: g.module, name: g.name, opcode: g.opcode, offsets };
    if (verdict.kind === 'dangerous') add('pickle.dangerous-global', 'critical', `imports ${JSON.stringify(what)} (${verdict.reason}); loading this file runs code`, { ...detail, reason: verdict.reason });
    else if (verdict.kind === 'unknown') add('pickle.unknown-global', 'medium', `imports ${JSON.stringify(what)}, which is not needed to rebuild tensors`, detail);
  }
  for (const u of walk.unresolved.slice(0, 10)) add('pickle.unresolved-global', 'critical', `${u.detail} at byte ${u.offset}; the import is computed at load time`, { offset: u.offset });
  for (const x of walk.extensions.slice(0, 10)) add('pickle.extension-code', 'medium', `imports through copyreg extension code ${x.code} at byte ${x.offset}`, { code: x.code, offset: x.offset });
  for (const p of walk.problems) {
    if (p.kind === 'limit') add('pickle.scan-limit', 'medium', `${p.message}; the rest was not scanned`, { offset: p.offset });
    else if (p.kind === 'truncated') add('pickle.truncated', 'medium', `${p.message}; imports before that point are listed`, { offset: p.offset });
    else add('pickle.malformed', 'medium', `malformed pickle: ${p.message}; an unpickler would still run everything before it`, { offset: p.offset });
  }
  if (walk.trailingBytes > 0 && !walk.legacyTorch) add('pickle.trailing-data', 'info', `${walk.trailingBytes} bytes follow the last pickle and are not pickle data`, { bytes: walk.trailingBytes });
}
