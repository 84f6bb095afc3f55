/**
 * Community packs published on npm: a package named `trigger-scan-pack-<name>` (or
 * `@scope/trigger-scan-pack-<name>`) whose package.json lists its pack files under a `trigger-scan`
 * field: `{ "trigger-scan": { "packs": ["pack.yaml"] } }`. Installed packages are found in
 * `./node_modules` and beside trigger-scan itself (a global install); `--pack npm:<name>` uses one.
 * An installed package is untrusted input like any pack file: its package.json is read bounded and
 * strict, its pack paths must stay inside the package, and each pack goes through the pack parser.
 */
import { readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { decodeUtf8, parseUntrustedJson, readSmallFile } from '../formats/untrusted-json.js';

export const NPM_PACK_PREFIX = 'trigger-scan-pack-';
export const NPM_SPEC = 'npm:';
/** What `trigger-scan packs init` scaffolds and what `packs list` finds. */
export const NPM_NAME_PATTERN = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?trigger-scan-pack-[a-z0-9][a-z0-9._~-]*$/;

const MAX_PACKAGE_JSON_BYTES = 1024 * 1024;
const MAX_PACKS_PER_PACKAGE = 64;
const PACK_FILE = /\.(ya?ml|json)$/i;

export interface NpmPackPackage {
  name: string;
  version: string;
  /** The package folder (its real path). */
  dir: string;
  /** Absolute paths of its pack files, in package.json order. */
  packs: string[];
}

/**
 * Where installed pack packages are looked for: `<cwd>/node_modules`, then the node_modules folder
 * trigger-scan itself is installed in (so `npm install -g trigger-scan-pack-x` beside a global
 * trigger-scan is found too).
 */
export function nodeModulesDirs(cwd: string, packageRoot: string): string[] {
  const dirs = [path.join(cwd, 'node_modules')];
  const parent = path.dirname(packageRoot);
  if (path.basename(parent) === 'node_modules') dirs.push(parent);
  else dirs.push(path.join(packageRoot, 'node_modules'));
  return [...new Set(dirs.map((d) => path.resolve(d)))];
}

function fail(where: string, what: string): never {
  throw new UserError('E_PACK', `${where}: ${what}`, where);
}

/** Read and check one installed package. `expected`: the name it was looked up by. */
export async function readNpmPackPackage(dir: string, expected?: string): Promise<NpmPackPackage> {
  const file = path.join(dir, 'package.json');
  const r = await readSmallFile(file, MAX_PACKAGE_JSON_BYTES);
  if (!r.ok) fail(file, r.code === 'ENOENT' ? 'no package.json: not an installed npm package' : r.error);
  const text = decodeUtf8(r.bytes);
  if (text === undefined) fail(file, 'not UTF-8');
  const parsed = parseUntrustedJson(text.replace(/^\ufeff/, ''));
  if (!parsed.ok) fail(file, parsed.error);
  const pkg = parsed.value;
  if (typeof pkg !== 'object' || pkg === null || Array.isArray(pkg)) fail(file, 'package.json is not an object');
  const own = (k: string): unknown => (Object.prototype.hasOwnProperty.call(pkg, k) ? (pkg as Record<string, unknown>)[k] : undefined);
  const name = own('name');
  const version = own('version');
  if (typeof name !== 'string' || !NPM_NAME_PATTERN.test(name)) fail(file, `"name" must be trigger-scan-pack-<name> (or @scope/trigger-scan-pack-<name>), got ${JSON.stringify(name)?.slice(0, 80)}`);
  if (expected !== undefined && name !== expected) fail(file, `the package is named ${JSON.stringify(name)}, not ${JSON.stringify(expected)}`);
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+[0-9A-Za-z.+-]{0,60}$/.test(version)) fail(file, `"version" must be a semver version, got ${JSON.stringify(version)?.slice(0, 80)}`);
  const field = own('trigger-scan');
  const list = typeof field === 'object' && field !== null && !Array.isArray(field) && Object.prototype.hasOwnProperty.call(field, 'packs') ? (field as { packs: unknown }).packs : undefined;
  if (!Array.isArray(list) || !list.length || !list.every((p) => typeof p === 'string')) fail(file, '"trigger-scan": { "packs": [...] } must list the package\'s pack files (relative paths)');
  const packs = list as string[];
  const pkgName = name as string;
  if (packs.length > MAX_PACKS_PER_PACKAGE) fail(file, `lists ${packs.length} packs; at most ${MAX_PACKS_PER_PACKAGE}`);
  const root = await realpath(dir);
  const files: string[] = [];
  for (const rel of packs) {
    const norm = path.posix.normalize(rel.replace(/\\/g, '/'));
    if (path.isAbsolute(rel) || norm.startsWith('../') || norm === '..' || !PACK_FILE.test(norm)) fail(file, `pack ${JSON.stringify(rel)} must be a .yaml, .yml or .json file inside the package`);
    const abs = path.join(root, norm);
    // A symlink may not lead out of the package either.
    const real = await realpath(abs).catch(() => fail(file, `pack ${JSON.stringify(rel)} is not in the package`));
    if (real !== root && !real.startsWith(root + path.sep)) fail(file, `pack ${JSON.stringify(rel)} leads outside the package`);
    files.push(real);
  }
  return { name: pkgName, version: version as string, dir: root, packs: files };
}

/** Installed pack packages (first found wins when two folders hold one name), sorted by name. */
export async function findNpmPackPackages(dirs: readonly string[]): Promise<NpmPackPackage[]> {
  const found = new Map<string, NpmPackPackage>();
  for (const nm of dirs) {
    const entries = await readdir(nm).catch(() => [] as string[]);
    const candidates: string[] = [];
    for (const e of entries) {
      if (e.startsWith(NPM_PACK_PREFIX)) candidates.push(e);
      else if (e.startsWith('@')) for (const s of await readdir(path.join(nm, e)).catch(() => [] as string[])) if (s.startsWith(NPM_PACK_PREFIX)) candidates.push(`${e}/${s}`);
    }
    for (const name of candidates.sort()) {
      if (found.has(name)) continue;
      found.set(name, await readNpmPackPackage(path.join(nm, name), name));
    }
  }
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** `npm:<name>`: the installed package of that name, `trigger-scan-pack-` prefix optional. */
export async function resolveNpmPack(spec: string, dirs: readonly string[]): Promise<NpmPackPackage> {
  const given = spec.slice(NPM_SPEC.length).trim();
  const scoped = /^(@[^/]+\/)(.*)$/.exec(given);
  const full = scoped ? (scoped[2]!.startsWith(NPM_PACK_PREFIX) ? given : `${scoped[1]}${NPM_PACK_PREFIX}${scoped[2]}`) : given.startsWith(NPM_PACK_PREFIX) ? given : `${NPM_PACK_PREFIX}${given}`;
  if (!NPM_NAME_PATTERN.test(full)) throw new UserError('E_PACK', `${spec}: not a pack package name (trigger-scan-pack-<name> or @scope/trigger-scan-pack-<name>)`);
  for (const nm of dirs) {
    const dir = path.join(nm, full);
    const there = await realpath(dir).then(() => true, () => false);
    if (there) return readNpmPackPackage(dir, full);
  }
  throw new UserError('E_PACK', `${spec}: package ${full} is not installed (looked in ${dirs.join(', ')}); install it with npm install ${full}`);
}
