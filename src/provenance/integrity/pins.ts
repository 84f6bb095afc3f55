import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, realpath, rename, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../errors.js';
import { makeFolder, removeFolders } from '../../util/make-folder.js';
import { snapshotPinName } from './hf-cache.js';
import type { Manifest } from './manifest.js';
import { HEX64, isRecord, own } from './dsse.js';
import { decodeUtf8, parseUntrustedJson, readSmallFile } from '../../formats/untrusted-json.js';

/**
 * Trust on first use for model folders, in the manner of SSH's known_hosts: the first time a
 * model is seen its full file map is recorded; every later look must find exactly the same files
 * with exactly the same contents. A changed, missing or extra file is a hard failure with a
 * per-file diff, and only an explicit `pin update` accepts new contents.
 *
 * The pin stores the whole name→sha256 map and not just the root digest, because the model_signing
 * root does not bind file names (swapping two adjacent files keeps it).
 *
 * Model ids. A pin is keyed by a name. By default the name is the folder's absolute real path, so
 * two copies of a model in different places are two pins, and moving a folder makes it "unknown"
 * again (strict mode fails; accept-new records the new place). Give `--pin-name org/model@rev` to
 * key the pin by what the model *is* instead: then every copy must match the one recorded
 * contents. When an unknown folder holds contents that are already pinned under another name, the
 * check says so (`knownAs`), which is what a user who copied a model expects to hear.
 */

export const PIN_FILE_VERSION = 1;
export type PinMode = 'strict' | 'accept-new' | 'off';
export const PIN_MODES: readonly PinMode[] = ['strict', 'accept-new', 'off'];

export interface PinRecord {
  /** POSIX path → lowercase hex sha256. */
  files: Record<string, string>;
  rootDigest: string;
  directoryDigest: string;
  /** ISO time the name was first pinned. */
  firstSeen: string;
  /** ISO time of the last matching check. */
  lastSeen?: string;
  /** ISO time of the last `pin update` that replaced the contents. */
  updatedAt?: string;
  note?: string;
  /** Where the folder was when pinned; informational only. */
  path?: string;
}

export interface PinDiff {
  changed: { path: string; pinned: string; actual: string }[];
  missing: string[];
  extra: string[];
}

export type PinStatus = 'match' | 'new' | 'recorded' | 'mismatch' | 'unknown' | 'off';

export interface PinCheck {
  /**
   * `new`: first sight in accept-new mode, not written yet (`commitPin` records it and returns
   * `recorded`); `match`: the pinned contents, `lastSeen` is updated by `commitPin`.
   */
  status: PinStatus;
  /** The pin name used (empty when off). */
  name: string;
  /** The pin file used (empty when off). */
  file: string;
  diff: PinDiff;
  /** The record as it was before this check, when there was one. */
  pinned?: PinRecord;
  /** Other pin names whose contents equal this folder's (for unknown/new folders). */
  knownAs: string[];
  /** Whether this check must fail the run: mismatch always, unknown in strict mode. */
  failed: boolean;
  /** One line for a human. */
  message: string;
  /** What `commitPin` writes: the record for a `new` folder, the `lastSeen` of a `match`. */
  pending?: { record: PinRecord; note?: string };
}

export interface PinOptions {
  /** Pin file; default `defaultPinFile()`. */
  file?: string;
  mode: PinMode;
  /** Pin name; default the folder's absolute real path. */
  name?: string;
  note?: string;
  now?: Date;
}

const EMPTY_DIFF: PinDiff = { changed: [], missing: [], extra: [] };
const MAX_PIN_FILE = 256 * 1024 * 1024;

/** `$TRIGGER_SCAN_PINS`, else `$XDG_CONFIG_HOME/trigger-scan/pins.json`, else `~/.config/trigger-scan/pins.json`. */
export function defaultPinFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRIGGER_SCAN_PINS) return path.resolve(env.TRIGGER_SCAN_PINS);
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  return path.join(base, 'trigger-scan', 'pins.json');
}

/**
 * The default pin name of a folder: for a Hugging Face cache snapshot the hub id and revision
 * (`org/name@rev`), which is what trust on first use means for a hub; otherwise its absolute path
 * with links resolved.
 */
export async function defaultPinName(dir: string, manifest?: Manifest): Promise<string> {
  if (manifest?.hfSnapshot) return snapshotPinName(manifest.hfSnapshot);
  return realpath(dir).catch(() => path.resolve(dir));
}

export function diffFiles(pinned: Record<string, string>, manifest: Manifest): PinDiff {
  const actual = new Map(manifest.files.map((f) => [f.path, f.sha256]));
  const diff: PinDiff = { changed: [], missing: [], extra: [] };
  for (const [p, digest] of Object.entries(pinned)) {
    const now = actual.get(p);
    if (now === undefined) diff.missing.push(p);
    else if (now !== digest) diff.changed.push({ path: p, pinned: digest, actual: now });
  }
  for (const p of actual.keys()) if (!Object.hasOwn(pinned, p)) diff.extra.push(p);
  diff.changed.sort((a, b) => (a.path < b.path ? -1 : 1));
  diff.missing.sort();
  diff.extra.sort();
  return diff;
}

const diffCount = (d: PinDiff): number => d.changed.length + d.missing.length + d.extra.length;

function sameFiles(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
}

function recordFrom(manifest: Manifest, now: string, prev?: PinRecord, note?: string): PinRecord {
  const files: Record<string, string> = {};
  for (const f of manifest.files) files[f.path] = f.sha256;
  const rec: PinRecord = { files, rootDigest: manifest.rootDigest, directoryDigest: manifest.directoryDigest, firstSeen: prev?.firstSeen ?? now, lastSeen: now };
  if (prev) rec.updatedAt = now;
  const n = note ?? prev?.note;
  if (n !== undefined) rec.note = n;
  rec.path = path.resolve(manifest.dir);
  return rec;
}

// ---------------------------------------------------------------- the pin file

/** Pins by name. A Map, so a model called `__proto__` is just a name. */
export type PinTable = Map<string, PinRecord>;

function validRecord(v: unknown): PinRecord | undefined {
  if (!isRecord(v)) return undefined;
  const files = own(v, 'files');
  const root = own(v, 'rootDigest');
  const dir = own(v, 'directoryDigest');
  const first = own(v, 'firstSeen');
  if (!isRecord(files) || typeof root !== 'string' || typeof dir !== 'string' || typeof first !== 'string') return undefined;
  const outFiles: Record<string, string> = {};
  for (const [p, d] of Object.entries(files)) {
    if (typeof d !== 'string' || !HEX64.test(d)) return undefined;
    Object.defineProperty(outFiles, p, { value: d, enumerable: true, writable: true, configurable: true });
  }
  const rec: PinRecord = { files: outFiles, rootDigest: root, directoryDigest: dir, firstSeen: first };
  for (const k of ['lastSeen', 'updatedAt', 'note', 'path'] as const) {
    const x = own(v, k);
    if (typeof x === 'string') rec[k] = x;
  }
  return rec;
}

/** Read the pin file; a missing file is an empty table. Throws UserError on a corrupt file. */
export async function readPins(file: string): Promise<PinTable> {
  const r = await readSmallFile(file, MAX_PIN_FILE);
  if (!r.ok) {
    if (r.code === 'ENOENT') return new Map();
    throw new UserError('E_PINS_READ', `${file}: pin file ${r.error}`, file);
  }
  const text = decodeUtf8(r.bytes);
  const parsed = text === undefined ? { ok: false as const, error: 'not UTF-8' } : parseUntrustedJson(text);
  if (!parsed.ok) throw new UserError('E_PINS_PARSE', `${file}: pin file is ${parsed.error}; fix or remove it`, file);
  const v = parsed.value;
  const version = own(v, 'version');
  if (version !== PIN_FILE_VERSION) {
    throw new UserError('E_PINS_VERSION', `${file}: pin file version ${JSON.stringify(version)} is not ${PIN_FILE_VERSION}; this trigger-scan cannot read it`, file);
  }
  const models = own(v, 'models');
  if (!isRecord(models)) throw new UserError('E_PINS_PARSE', `${file}: pin file has no "models" object`, file);
  const table: PinTable = new Map();
  for (const [name, rec] of Object.entries(models)) {
    const ok = validRecord(rec);
    if (!ok) throw new UserError('E_PINS_PARSE', `${file}: pin ${JSON.stringify(name)} is malformed (needs files, rootDigest, directoryDigest, firstSeen)`, file);
    table.set(name, ok);
  }
  return table;
}

function serialise(table: PinTable): string {
  const models: Record<string, unknown> = {};
  for (const name of [...table.keys()].sort()) {
    const r = table.get(name) as PinRecord;
    const files: Record<string, string> = {};
    for (const p of Object.keys(r.files).sort()) Object.defineProperty(files, p, { value: r.files[p], enumerable: true });
    const out = { ...r, files };
    Object.defineProperty(models, name, { value: out, enumerable: true });
  }
  return `${JSON.stringify({ version: PIN_FILE_VERSION, models }, null, 2)}\n`;
}

const PIN_FOLDER = { what: 'pin folder', code: 'E_PINS_WRITE', mode: 0o700 };
const pinTemporary = (file: string): string => path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);

/**
 * Whether the pin file could be written, checked before any work: its folder is created and a
 * temporary written beside it, then both are removed again. A first sight in accept-new mode is
 * recorded only after the scan; without this check a pin file that cannot be written (`--pins
 * /proc/x/pins.json`, a read-only folder) would fail the command only once the scan was done.
 */
export async function checkPinFileWritable(file: string): Promise<void> {
  const created = await makeFolder(path.dirname(file), PIN_FOLDER);
  const probe = pinTemporary(file);
  try {
    const fh = await open(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    await fh.close();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError('E_PINS_WRITE', `${file}: cannot write pin file (${e.code ?? e.message})`, file);
  } finally {
    await unlink(probe).catch(() => undefined);
    await removeFolders(created);
  }
}

/**
 * Replace the pin file atomically: write a temp file (mode 0600) beside it, fsync, rename.
 * A crash leaves either the old or the new file, never half of one. Concurrent writers can lose
 * each other's updates (last rename wins); runs that pin the same file should not overlap.
 */
export async function writePins(file: string, table: PinTable): Promise<void> {
  const dir = path.dirname(file);
  await makeFolder(dir, PIN_FOLDER);
  const tmp = pinTemporary(file);
  let fh;
  try {
    fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    await fh.writeFile(serialise(table), 'utf8');
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, file);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    const e = err as NodeJS.ErrnoException;
    throw new UserError('E_PINS_WRITE', `${file}: cannot write pin file (${e.code ?? e.message})`, file);
  }
}

// ---------------------------------------------------------------- checks

/**
 * Compare the folder with its pin. Pure: reads the pin file, never writes it. What a first sight
 * (accept-new) or a match would record is in `pending`, and only `commitPin` writes it, so a folder
 * is pinned only after everything that was to be checked and loaded has succeeded.
 */
export async function checkPins(manifest: Manifest, opts: PinOptions): Promise<PinCheck> {
  if (opts.mode === 'off') return { status: 'off', name: '', file: '', diff: EMPTY_DIFF, knownAs: [], failed: false, message: 'pinning off' };
  const file = opts.file ?? defaultPinFile();
  const name = opts.name ?? (await defaultPinName(manifest.dir, manifest));
  const now = (opts.now ?? new Date()).toISOString();
  const table = await readPins(file);
  const pinned = table.get(name);
  const dir = manifest.dir;

  if (pinned) {
    const diff = diffFiles(pinned.files, manifest);
    if (diffCount(diff) === 0) {
      return {
        status: 'match',
        name,
        file,
        diff,
        pinned,
        knownAs: [],
        failed: false,
        message: `${dir}: matches pin ${JSON.stringify(name)} (${manifest.files.length} files, first seen ${pinned.firstSeen})`,
        pending: { record: { ...pinned, lastSeen: now } },
      };
    }
    return {
      status: 'mismatch',
      name,
      file,
      diff,
      pinned,
      knownAs: [],
      failed: true,
      message: `${dir}: MODEL CONTENTS HAVE CHANGED since pinned as ${JSON.stringify(name)}: ${summariseDiff(diff)}`,
    };
  }

  const knownAs = [...table.entries()].filter(([, r]) => r.directoryDigest === manifest.directoryDigest).map(([n]) => n);
  const also = knownAs.length ? ` (same contents are pinned as ${knownAs.map((n) => JSON.stringify(n)).join(', ')})` : '';
  if (opts.mode === 'strict') {
    return { status: 'unknown', name, file, diff: EMPTY_DIFF, knownAs, failed: true, message: `${dir}: no pin named ${JSON.stringify(name)} in ${file} and --pin strict refuses unknown models${also}; run: trigger-scan pin update` };
  }
  await checkPinFileWritable(file);
  return {
    status: 'new',
    name,
    file,
    diff: EMPTY_DIFF,
    knownAs,
    failed: false,
    message: `${dir}: not pinned yet as ${JSON.stringify(name)}${also}`,
    pending: { record: recordFrom(manifest, now, undefined, opts.note) },
  };
}

/**
 * Write what `check` found pending: record a `new` folder (status `recorded`), or update a match's
 * `lastSeen`. Call it last, after everything the folder was checked for and loaded into succeeded.
 * The pin file is read again, so pins other runs wrote meanwhile are kept. Returns the check as it
 * stands afterwards; anything but `new` and `match` is returned unchanged.
 */
export async function commitPin(check: PinCheck): Promise<PinCheck> {
  if (!check.pending || (check.status !== 'new' && check.status !== 'match')) return check;
  const { pending: _done, ...rest } = check;
  const table = await readPins(check.file);
  if (check.status === 'match') {
    // lastSeen is bookkeeping: a read-only pin file (committed to CI) must not fail a match.
    // Only when the pin still holds what was checked (another run may have updated it).
    const cur = table.get(check.name);
    if (cur && sameFiles(cur.files, check.pending.record.files)) {
      table.set(check.name, { ...cur, lastSeen: check.pending.record.lastSeen as string });
      await writePins(check.file, table).catch(() => undefined);
    }
    return rest;
  }
  const record = check.pending.record;
  table.set(check.name, record);
  await writePins(check.file, table);
  const also = check.knownAs.length ? ` (same contents are pinned as ${check.knownAs.map((n) => JSON.stringify(n)).join(', ')})` : '';
  return { ...rest, status: 'recorded', message: `${record.path ?? check.name}: first use, pinned ${Object.keys(record.files).length} files as ${JSON.stringify(check.name)} in ${check.file}${also}` };
}

export function summariseDiff(d: PinDiff): string {
  const parts: string[] = [];
  if (d.changed.length) parts.push(`${d.changed.length} changed`);
  if (d.missing.length) parts.push(`${d.missing.length} missing`);
  if (d.extra.length) parts.push(`${d.extra.length} extra`);
  const first = d.changed[0]?.path ?? d.missing[0] ?? d.extra[0];
  return `${parts.join(', ')} file${diffCount(d) === 1 ? '' : 's'}${first ? ` (first: ${first})` : ''}`;
}

const short = (h: string): string => h.slice(0, 16);

/**
 * The loud multi-line report of a pin mismatch. Line 1 is the one-line summary naming the folder;
 * the rest is the banner, the per-file diff and how to accept the change.
 */
export function formatPinMismatch(check: PinCheck): string {
  const lines = [check.message];
  lines.push(
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    '@    WARNING: MODEL IDENTIFICATION HAS CHANGED!           @',
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    'IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!',
    'The files of this model are not the ones you pinned: it may have been tampered with,',
    'or it was legitimately updated.',
    `Pin ${JSON.stringify(check.name)} in ${check.file}, first seen ${check.pinned?.firstSeen ?? '?'}:`,
  );
  for (const c of check.diff.changed) lines.push(`  changed  ${c.path}  pinned ${short(c.pinned)}…  now ${short(c.actual)}…`);
  for (const m of check.diff.missing) lines.push(`  missing  ${m}`);
  for (const e of check.diff.extra) lines.push(`  extra    ${e}`);
  lines.push(`If you expected this change, accept it with: trigger-scan pin update <dir> --pin-name ${JSON.stringify(check.name)} --pins ${JSON.stringify(check.file)}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------- pin list|update|revoke

export interface PinEntry {
  name: string;
  record: PinRecord;
}

export async function listPins(file: string = defaultPinFile()): Promise<PinEntry[]> {
  const table = await readPins(file);
  return [...table.keys()].sort().map((name) => ({ name, record: table.get(name) as PinRecord }));
}

/** Record (or replace) the pin of `name` with the manifest's contents; returns what changed. */
export async function updatePin(
  manifest: Manifest,
  opts: { file?: string; name?: string; note?: string; now?: Date } = {},
): Promise<{ name: string; file: string; previous?: PinRecord; record: PinRecord; diff: PinDiff }> {
  const file = opts.file ?? defaultPinFile();
  const name = opts.name ?? (await defaultPinName(manifest.dir, manifest));
  const table = await readPins(file);
  const previous = table.get(name);
  const record = recordFrom(manifest, (opts.now ?? new Date()).toISOString(), previous, opts.note);
  table.set(name, record);
  await writePins(file, table);
  const diff = previous ? diffFiles(previous.files, manifest) : EMPTY_DIFF;
  return previous ? { name, file, previous, record, diff } : { name, file, record, diff };
}

/** Remove the pin `name` (SSH's `ssh-keygen -R`). Throws UserError when there is no such pin. */
export async function revokePin(name: string, file: string = defaultPinFile()): Promise<PinRecord> {
  const table = await readPins(file);
  const rec = table.get(name);
  if (!rec) throw new UserError('E_PIN_UNKNOWN', `${file}: no pin named ${JSON.stringify(name)} (see: trigger-scan pin list)`, file);
  table.delete(name);
  await writePins(file, table);
  return rec;
}

/**
 * `trigger-scan pin update <dir>` as a library call: hash the folder the way model_signing does
 * (its signature and VCS files left out) and record it as the pin of `name`.
 */
export async function pinModelFolder(
  dir: string,
  opts: { file?: string; name?: string; note?: string; now?: Date } = {},
): Promise<{ manifest: Manifest } & Awaited<ReturnType<typeof updatePin>>> {
  const { buildManifest, MODEL_SIGNING_IGNORE } = await import('./manifest.js');
  const manifest = await buildManifest(dir, { ignore: MODEL_SIGNING_IGNORE });
  return { manifest, ...(await updatePin(manifest, opts)) };
}
