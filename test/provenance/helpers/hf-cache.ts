import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A Hugging Face hub cache made the way huggingface_hub lays it out: every file of `src` stored
 * once in `models--<org>--<name>/blobs/`, named by its sha256 (LFS files) or its git blob sha1
 * (the rest), and `snapshots/<revision>/<path>` relative symlinks into it, plus `refs/main`.
 */
export function makeHfCache(cacheRoot: string, src: string, repoId: string, revision: string, isLfs = (rel: string) => /\.(safetensors|onnx|bin|onnx_data)$/.test(rel)): string {
  const repo = path.join(cacheRoot, `models--${repoId.replace('/', '--')}`);
  const blobs = path.join(repo, 'blobs');
  const snap = path.join(repo, 'snapshots', revision);
  mkdirSync(blobs, { recursive: true });
  mkdirSync(path.join(repo, 'refs'), { recursive: true });
  writeFileSync(path.join(repo, 'refs', 'main'), revision);
  const walk = (rel: string): void => {
    const abs = path.join(src, rel);
    if (statSync(abs).isDirectory()) {
      for (const e of readdirSync(abs)) walk(rel ? `${rel}/${e}` : e);
      return;
    }
    const bytes = readFileSync(abs);
    const name = isLfs(rel) ? createHash('sha256').update(bytes).digest('hex') : createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
    writeFileSync(path.join(blobs, name), bytes);
    const link = path.join(snap, ...rel.split('/'));
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(path.relative(path.dirname(link), path.join(blobs, name)), link);
  };
  walk('');
  return snap;
}

/** The blob a snapshot file links to. */
export function blobOf(snapshotFile: string): string {
  return path.resolve(path.dirname(snapshotFile), readlinkSync(snapshotFile));
}
