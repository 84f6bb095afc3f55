import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { open, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Hugging Face cache snapshots: `<cache>/models--<org>--<name>/snapshots/<revision>/` holds one
 * relative symlink per file into the same repository's `blobs/`, where each blob is named by its
 * own digest: the sha256 of the content for LFS files, the git blob sha1
 * (`sha1("blob <size>\0" + content)`) for the rest. That is where most downloaded models live.
 *
 * The rule here is narrow on purpose: a link is followed only when the folder is such a snapshot,
 * the link's real path is a regular file directly in that repository's `blobs/`, and (checked
 * while hashing, in the manifest) the blob's content matches its name. Any other symlink is still
 * refused: a link out of the cache could make the audit read one file and the loader another.
 */

export interface HfSnapshot {
  /** Real path of the snapshot folder. */
  dir: string;
  /** Real path of `models--org--name/`. */
  repoDir: string;
  /** Real path of its `blobs/`. */
  blobsDir: string;
  kind: 'model' | 'dataset' | 'space';
  /** `org/name` (or `name` for un-namespaced repos). */
  repoId: string;
  /** The snapshot folder's name: the commit the files were downloaded at. */
  revision: string;
}

const REPO_DIR = /^(models|datasets|spaces)--(.+)$/;
const KIND = { models: 'model', datasets: 'dataset', spaces: 'space' } as const;

/** The snapshot `dir` is (its real path), when it is one; undefined otherwise. */
export async function detectHfSnapshot(dir: string): Promise<HfSnapshot | undefined> {
  const real = await realpath(dir).catch(() => undefined);
  if (!real) return undefined;
  const revision = path.basename(real);
  const snapshots = path.dirname(real);
  if (path.basename(snapshots) !== 'snapshots') return undefined;
  const repoDir = path.dirname(snapshots);
  const m = REPO_DIR.exec(path.basename(repoDir));
  if (!m) return undefined;
  const blobsDir = path.join(repoDir, 'blobs');
  if (!(await stat(blobsDir).then((s) => s.isDirectory(), () => false))) return undefined;
  // The hub forbids "--" inside names, so the folder name splits unambiguously.
  const parts = (m[2] as string).split('--');
  if (parts.length > 2 || parts.some((p) => p === '')) return undefined;
  return { dir: real, repoDir, blobsDir, kind: KIND[m[1] as keyof typeof KIND], repoId: parts.join('/'), revision };
}

/** The pin name trust-on-first-use should use for a snapshot: what it is, not where it is. */
export function snapshotPinName(s: HfSnapshot): string {
  return `${s.kind === 'model' ? '' : `${s.kind}s/`}${s.repoId}@${s.revision}`;
}

export type BlobDigestKind = 'sha256' | 'git-sha1';

export interface BlobLink {
  /** Absolute path of the link inside the snapshot. */
  link: string;
  /** Real path of the blob. */
  blob: string;
  /** The blob's file name, which is its digest. */
  name: string;
  kind: BlobDigestKind;
}

export type LinkVerdict = { ok: true; value: BlobLink } | { ok: false; reason: string };

/** Decide whether the symlink `abs` (inside snapshot `s`) may be followed. Never throws. */
export async function resolveBlobLink(abs: string, s: HfSnapshot): Promise<LinkVerdict> {
  const target = await readlink(abs).catch(() => undefined);
  if (target === undefined) return { ok: false, reason: 'cannot read the link' };
  const real = await realpath(abs).catch((err: NodeJS.ErrnoException) => err);
  if (real instanceof Error) return { ok: false, reason: `link to ${target} is dangling (${real.code ?? real.message})` };
  if (path.dirname(real) !== s.blobsDir) return { ok: false, reason: `link to ${target} leads to ${real}, outside this repository's blobs/ folder (${s.blobsDir})` };
  const name = path.basename(real);
  const kind: BlobDigestKind | undefined = /^[0-9a-f]{64}$/.test(name) ? 'sha256' : /^[0-9a-f]{40}$/.test(name) ? 'git-sha1' : undefined;
  if (!kind) return { ok: false, reason: `link leads to blob ${name}, which is not named by a sha256 or git sha1 digest` };
  const st = await stat(real).catch(() => undefined);
  if (!st?.isFile()) return { ok: false, reason: `link leads to ${real}, which is not a regular file` };
  return { ok: true, value: { link: abs, blob: real, name, kind } };
}

/**
 * Hash a blob for the manifest: sha256 of the content, plus its name check. Reads the real path
 * with O_NOFOLLOW, so a blob swapped for a link after `resolveBlobLink` is refused.
 */
export async function hashBlob(b: BlobLink): Promise<{ size: number; sha256: string; nameMatches: boolean; actualName: string } | { error: string; code?: string }> {
  let fh;
  try {
    fh = await open(b.blob, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { error: `cannot read blob ${b.blob} (${e.code ?? e.message})`, ...(e.code ? { code: e.code } : {}) };
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    return { error: `blob ${b.blob} is not a regular file` };
  }
  const sha256 = createHash('sha256');
  const sha1 = b.kind === 'git-sha1' ? createHash('sha1').update(`blob ${st.size}\0`) : undefined;
  let size = 0;
  try {
    for await (const chunk of createReadStream('', { fd: fh, start: 0, highWaterMark: 1 << 20 })) {
      sha256.update(chunk as Buffer);
      sha1?.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { error: `blob ${b.blob} read failed (${e.code ?? e.message})` };
  }
  if (size !== st.size) return { error: `blob ${b.blob} changed size while being hashed (${st.size} → ${size} bytes)` };
  const hex = sha256.digest('hex');
  const actualName = sha1 ? sha1.digest('hex') : hex;
  return { size, sha256: hex, nameMatches: actualName === b.name, actualName };
}
