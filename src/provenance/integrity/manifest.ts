import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { UserError } from '../../errors.js';
import { describeOpenError, openRegularFile } from '../../util/regular-file.js';
import { detectHfSnapshot, hashBlob, resolveBlobLink } from './hf-cache.js';
import type { BlobDigestKind, BlobLink, HfSnapshot } from './hf-cache.js';

/**
 * A content manifest of a model folder: what exactly is being audited, in a form that can be pinned
 * and compared with an OpenSSF model-signing signature.
 *
 * Two digests are produced, because they answer different questions:
 *
 * - `rootDigest` is model_signing's `files` root: sha256 over the concatenation of the raw 32-byte
 *   per-file sha256 digests, in the signer's order (Python `PurePosixPath` order: compare path
 *   components one by one, by code point). It is interoperable with `model_signing digest` but does
 *   NOT bind file names: swapping the contents of two files with adjacent names keeps it.
 *
 * - `directoryDigest` binds names. It is Go's `dirhash.Hash1` in hex (in-toto's `dirHash1`):
 *   sha256 over the lines `"<lowercase hex sha256>  <posix path>\n"` (two spaces), one per file,
 *   sorted by the UTF-8 bytes of the path (`LC_ALL=C sort`). Equivalently:
 *   `find . -type f | cut -c3- | LC_ALL=C sort | xargs sha256sum | sha256sum`.
 *
 * Symlinks are refused (model_signing's default, and the ONNX external-data CVEs show why a link
 * out of the folder is dangerous), with one exception: a Hugging Face cache snapshot, whose links
 * into the same repository's `blobs/` are followed and each blob's name checked against its content
 * (`hf-cache.ts`). FIFOs, sockets and devices are refused because hashing them can hang or read
 * something that is not part of the model.
 */

export interface ManifestEntry {
  /** POSIX path relative to the model folder. */
  path: string;
  size: number;
  /** Lowercase hex sha256 of the content. */
  sha256: string;
  /** Hard links to the content (files only listed when more than one). */
  nlink?: number;
  /** Hugging Face cache snapshots: the blob this path links to, and whether its name is its digest. */
  blob?: { name: string; kind: BlobDigestKind; nameMatches: boolean; actual: string };
}

export interface Manifest {
  dir: string;
  /** Sorted in model_signing order (the order `rootDigest` is taken in). */
  files: ManifestEntry[];
  rootDigest: string;
  directoryDigest: string;
  /** The ignore list that was applied, so a verifier can reproduce the walk. */
  ignored: string[];
  /** Set when the folder is a Hugging Face cache snapshot (its links were followed into blobs/). */
  hfSnapshot?: HfSnapshot;
  /** Paths (relative) that share one inode with another path of the folder. */
  sameInode: string[][];
}

export interface ManifestOptions {
  /** Relative POSIX paths (files or folders) to leave out, e.g. `.git`; folders are not descended. */
  ignore?: readonly string[];
  /** Files hashed at once; hashing is I/O plus one core each, so a few suffice. */
  concurrency?: number;
  /** A folder with more files than this is refused rather than walked forever. */
  maxFiles?: number;
  maxDepth?: number;
  /** Follow a Hugging Face cache snapshot's links into its blobs/ (default true; false refuses every link). */
  hfCache?: boolean;
}

/** What model_signing always leaves out of a signature (plus its own `model.sig`). */
export const MODEL_SIGNING_IGNORE: readonly string[] = ['.git', '.gitattributes', '.github', '.gitignore', 'model.sig'];

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export async function buildManifest(dir: string, opts: ManifestOptions = {}): Promise<Manifest> {
  const ignore = new Set((opts.ignore ?? []).map((p) => p.replace(/\/+$/, '')));
  const maxFiles = opts.maxFiles ?? 100_000;
  const maxDepth = opts.maxDepth ?? 64;
  const concurrency = Math.max(1, opts.concurrency ?? Math.min(4, availableParallelism()));

  const top = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
    throw new UserError('E_MANIFEST_READ', `${dir}: cannot read model folder (${err.code ?? err.message})`, dir);
  });
  // The folder argument itself may be a link (users keep models on other disks); its contents may not.
  if (!top.isDirectory() && !(top.isSymbolicLink() && (await isDirectory(dir)))) {
    throw new UserError('E_MANIFEST_NOT_DIR', `${dir}: not a folder`, dir);
  }

  const snapshot = opts.hfCache === false ? undefined : await detectHfSnapshot(dir);
  const found: { rel: string; abs: string; blob?: BlobLink }[] = [];
  const stack: { abs: string; rel: string; depth: number }[] = [{ abs: dir, rel: '', depth: 0 }];
  while (stack.length > 0) {
    const cur = stack.pop() as { abs: string; rel: string; depth: number };
    const entries = await readdir(cur.abs, { withFileTypes: true, encoding: 'buffer' }).catch((err: NodeJS.ErrnoException) => {
      throw new UserError('E_MANIFEST_READ', `${cur.abs}: cannot list folder (${err.code ?? err.message})`, cur.abs);
    });
    for (const e of entries) {
      const name = decodeName(e.name, cur.abs);
      const rel = cur.rel === '' ? name : `${cur.rel}/${name}`;
      const abs = path.join(cur.abs, name);
      if (ignore.has(rel)) continue;
      if (e.isSymbolicLink()) {
        if (!snapshot) {
          throw new UserError(
            'E_MANIFEST_SYMLINK',
            `${abs}: is a symlink; refusing to follow links in a model folder (only a Hugging Face cache snapshot's links into its own blobs/ are followed)`,
            abs,
          );
        }
        const v = await resolveBlobLink(abs, snapshot);
        if (!v.ok) throw new UserError('E_MANIFEST_SYMLINK', `${abs}: is a symlink that is not a Hugging Face cache blob link: ${v.reason}; refusing to follow it`, abs);
        if (found.length >= maxFiles) throw new UserError('E_MANIFEST_LIMIT', `${dir}: more than ${maxFiles} files in the model folder`, dir);
        found.push({ rel, abs, blob: v.value });
        continue;
      }
      if (e.isDirectory()) {
        if (cur.depth + 1 > maxDepth) throw new UserError('E_MANIFEST_LIMIT', `${abs}: folder nesting deeper than ${maxDepth}`, abs);
        stack.push({ abs, rel, depth: cur.depth + 1 });
      } else if (e.isFile()) {
        if (found.length >= maxFiles) throw new UserError('E_MANIFEST_LIMIT', `${dir}: more than ${maxFiles} files in the model folder`, dir);
        found.push({ rel, abs });
      } else {
        throw new UserError('E_MANIFEST_SPECIAL', `${abs}: is not a regular file or folder (FIFO, socket or device); refusing to read it`, abs);
      }
    }
  }

  const limit = pLimit(concurrency);
  const hashed = await Promise.all(found.map((f) => limit(async () => ({ rel: f.rel, ...(f.blob ? await hashLinked(f.blob) : await hashFile(f.abs)) }))));
  const files: ManifestEntry[] = hashed.map((h) => {
    const e: ManifestEntry = { path: h.rel, size: h.size, sha256: h.sha256 };
    if (h.nlink > 1) e.nlink = h.nlink;
    if (h.blob) e.blob = h.blob;
    return e;
  });
  files.sort((a, b) => comparePosixPaths(a.path, b.path));
  // Two paths of the folder on one inode: not a trick by itself (a blob may back two snapshot
  // names), but an edit through one changes both. Reported by the folder checks.
  const byInode = new Map<string, string[]>();
  for (const h of hashed) byInode.set(h.inode, [...(byInode.get(h.inode) ?? []), h.rel]);
  const sameInode = [...byInode.values()].filter((l) => l.length > 1).map((l) => l.sort(comparePosixPaths));

  const m: Manifest = { dir, files, ...folderDigests(files), ignored: [...ignore].sort(), sameInode };
  if (snapshot) m.hfSnapshot = snapshot;
  return m;
}

/**
 * The root digest and dirHash1 of a list of entries (sorted as the manifest sorts them). Exported
 * so a subset can be digested the same way, e.g. the folder without the attestation that names it.
 */
export function folderDigests(files: readonly ManifestEntry[]): { rootDigest: string; directoryDigest: string } {
  const root = createHash('sha256');
  for (const f of files) root.update(Buffer.from(f.sha256, 'hex'));
  const dirHash = createHash('sha256');
  for (const f of [...files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)))) dirHash.update(`${f.sha256}  ${f.path}\n`);
  return { rootDigest: root.digest('hex'), directoryDigest: dirHash.digest('hex') };
}

interface Hashed {
  size: number;
  sha256: string;
  nlink: number;
  /** `dev:ino`, to find paths sharing content. */
  inode: string;
  blob?: ManifestEntry['blob'];
}

async function hashLinked(b: BlobLink): Promise<Hashed> {
  const h = await hashBlob(b);
  if ('error' in h) throw new UserError(h.code === 'ELOOP' ? 'E_MANIFEST_SYMLINK' : 'E_MANIFEST_READ', `${b.link}: ${h.error}`, b.link);
  const st = await stat(b.blob);
  return { size: h.size, sha256: h.sha256, nlink: st.nlink, inode: `${st.dev}:${st.ino}`, blob: { name: b.name, kind: b.kind, nameMatches: h.nameMatches, actual: h.actualName } };
}

async function isDirectory(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

function decodeName(raw: Buffer, parent: string): string {
  let name: string;
  try {
    name = UTF8.decode(raw);
  } catch {
    throw new UserError('E_MANIFEST_NAME', `${parent}: holds a file name that is not valid UTF-8 (${raw.toString('hex')})`, parent);
  }
  // A newline would let one file masquerade as two lines of the directoryDigest input.
  if (name.includes('\n') || name.includes('\r')) throw new UserError('E_MANIFEST_NAME', `${parent}: holds a file name with a line break (${JSON.stringify(name)})`, parent);
  return name;
}

/**
 * Python PurePosixPath ordering: component-wise, each component by code point. This differs from
 * plain JS string order, e.g. `a/b` sorts before `a.b` here (component `a` < `a.b`) but after it
 * in a string sort ('.' < '/'), and JS compares UTF-16 units, not code points.
 */
export function comparePosixPaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const c = compareCodePoints(pa[i] as string, pb[i] as string);
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = (x.value as string).codePointAt(0) as number;
    const cy = (y.value as string).codePointAt(0) as number;
    if (cx !== cy) return cx - cy;
  }
}

async function hashFile(abs: string): Promise<Hashed> {
  let fh;
  let st;
  try {
    // The entry was a regular file when listed, but it may have been swapped for a link or a FIFO
    // since; neither may be followed or block the open.
    ({ fh, stats: st } = await openRegularFile(abs, { noFollow: true }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ELOOP') throw new UserError('E_MANIFEST_SYMLINK', `${abs}: is a symlink; refusing to follow links in a model folder`, abs);
    if (e.code === 'ENOTREG') throw new UserError('E_MANIFEST_SPECIAL', `${abs}: ${describeOpenError(err)}`, abs);
    throw new UserError('E_MANIFEST_READ', `${abs}: ${describeOpenError(err)}`, abs);
  }
  const hash = createHash('sha256');
  let size = 0;
  try {
    // The stream owns the handle (autoClose) and reads it in 1 MiB chunks: constant memory per file.
    for await (const chunk of createReadStream('', { fd: fh, start: 0, highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError('E_MANIFEST_READ', `${abs}: read failed (${e.code ?? e.message})`, abs);
  }
  if (size !== st.size) throw new UserError('E_MANIFEST_CHANGED', `${abs}: changed size while being hashed (${st.size} → ${size} bytes)`, abs);
  return { size, sha256: hash.digest('hex'), nlink: st.nlink, inode: `${st.dev}:${st.ino}` };
}
