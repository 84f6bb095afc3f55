/**
 * Trust on first use for probe packs, as for models: the first scan that uses a pack (other than a
 * built-in one, which is part of trigger-scan itself) records its digest under `<name>@<version>`;
 * a later scan that finds other bytes under the same name and version has been handed a pack that
 * changed without a new version. That is a warning, and an error with `--pin strict`. The records
 * live beside the model pins, in `pack-pins.json`.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { decodeUtf8, parseUntrustedJson, readSmallFile } from '../formats/untrusted-json.js';
import { makeFolder } from '../util/make-folder.js';
import type { LoadedPack } from './types.js';

export const PACK_PIN_FILE = 'pack-pins.json';
export const PACK_PIN_STATUSES = ['builtin', 'off', 'new', 'match', 'changed'] as const;
export type PackPinStatus = (typeof PACK_PIN_STATUSES)[number];

interface PackPin {
  digest: string;
  /** Where it was first seen (`npm:<package>@<version>/<file>` or a path). */
  from: string;
  firstSeen: string;
}

/** The pack pin file that goes with a model pin file. */
export const packPinFile = (modelPinFile: string): string => path.join(path.dirname(modelPinFile), PACK_PIN_FILE);

const MAX_BYTES = 16 * 1024 * 1024;

async function readPackPins(file: string): Promise<Record<string, PackPin>> {
  const r = await readSmallFile(file, MAX_BYTES);
  if (!r.ok) {
    if (r.code === 'ENOENT') return {};
    throw new UserError('E_PINS', `${file}: cannot read the pack pins (${r.error})`, file);
  }
  const text = decodeUtf8(r.bytes);
  const parsed = text === undefined ? undefined : parseUntrustedJson(text);
  const v = parsed?.ok ? (parsed.value as { version?: unknown; packs?: unknown }) : undefined;
  if (!v || v.version !== 1 || typeof v.packs !== 'object' || v.packs === null || Array.isArray(v.packs)) {
    throw new UserError('E_PINS', `${file}: not a pack pin file (expected {"version": 1, "packs": {...}}); move it away to start again`, file);
  }
  const out: Record<string, PackPin> = {};
  for (const [k, p] of Object.entries(v.packs as Record<string, unknown>)) {
    const rec = p as Partial<PackPin> | null;
    if (rec && typeof rec.digest === 'string') out[k] = { digest: rec.digest, from: String(rec.from ?? ''), firstSeen: String(rec.firstSeen ?? '') };
  }
  return out;
}

export interface PackPinCheck {
  /** Status per pack name. */
  statuses: Map<string, PackPinStatus>;
  /** One line per pack that changed under the same version. */
  warnings: string[];
  /** First sights to record once the scan has succeeded (`commitPackPins`). */
  pending?: { file: string; pins: Record<string, PackPin> };
}

/**
 * Check the packs' digests. Strict mode fails on a changed pack; accept-new warns. A pack seen for
 * the first time is recorded in either mode, but only by `commitPackPins` once the scan that used it
 * has succeeded (as for model pins: a failed run records nothing).
 */
export async function checkPackPins(packs: readonly LoadedPack[], o: { file: string; mode: 'strict' | 'accept-new' | 'off' }): Promise<PackPinCheck> {
  const statuses = new Map<string, PackPinStatus>();
  const warnings: string[] = [];
  const pinned = packs.filter((p) => !p.builtin);
  for (const p of packs) if (p.builtin) statuses.set(p.name, 'builtin');
  if (o.mode === 'off') {
    for (const p of pinned) statuses.set(p.name, 'off');
    return { statuses, warnings };
  }
  if (!pinned.length) return { statuses, warnings };
  const pins = await readPackPins(o.file);
  let changed = false;
  for (const p of pinned) {
    const key = `${p.name}@${p.version}`;
    const prev = pins[key];
    if (!prev) {
      pins[key] = { digest: p.digest, from: p.displayPath, firstSeen: new Date().toISOString() };
      statuses.set(p.name, 'new');
      changed = true;
    } else if (prev.digest === p.digest) statuses.set(p.name, 'match');
    else {
      const line = `pack ${key} (${p.displayPath}) changed without a new version: its digest is ${p.digest.slice(0, 19)}…, pinned ${prev.digest.slice(0, 19)}… from ${prev.from} (${o.file})`;
      if (o.mode === 'strict') throw new UserError('E_PACK_PIN', `${line}; refusing it under --pin strict`, p.file);
      statuses.set(p.name, 'changed');
      warnings.push(line);
    }
  }
  return { statuses, warnings, ...(changed ? { pending: { file: o.file, pins } } : {}) };
}

/** Write the first sights `checkPackPins` found; nothing to do when there were none. */
export async function commitPackPins(check: PackPinCheck | undefined): Promise<void> {
  const pending = check?.pending;
  if (!pending) return;
  // One level at a time, like the model pin folder: Node's recursive mkdir spins under /proc.
  await makeFolder(path.dirname(pending.file), { what: 'pin folder', code: 'E_PINS' });
  const tmp = `${pending.file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify({ version: 1, packs: pending.pins }, null, 2) + '\n');
    await rename(tmp, pending.file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new UserError('E_PINS', `${pending.file}: cannot write the pack pins (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, pending.file);
  }
}
