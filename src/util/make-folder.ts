import { lstat, mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';

/**
 * Create a folder and its missing parents one level at a time. Node's `mkdir(..., { recursive: true })`
 * never returns on some paths (under /proc it retries forever at full CPU), so every level is made
 * by hand and the first failure ends it with one line naming the folder. Used for the report folder
 * and the pin file's folder.
 */

export interface MakeFolderOptions {
  /** What the folder is, for the error message: "report folder", "pin folder". */
  what: string;
  /** The error code of the UserError thrown. */
  code: string;
  /** Mode of the folders created (default 0o777 less the umask). */
  mode?: number;
}

const errCode = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** Create `dir` and any missing parents; returns the folders it created, outermost first. */
export async function makeFolder(dir: string, o: MakeFolderOptions): Promise<string[]> {
  const abs = path.resolve(dir);
  const fail = (why: string) => new UserError(o.code, `${abs}: cannot create the ${o.what} (${why})`, abs);
  const missing: string[] = [];
  for (let at = abs; ; at = path.dirname(at)) {
    const st = await lstat(at).catch((err: NodeJS.ErrnoException) => {
      // ENOTDIR: a parent is a file; walking up finds it and says so.
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw fail(`${at}: ${errCode(err)}`);
    });
    if (st) {
      if (!st.isDirectory()) throw fail(`${at} is not a folder`);
      break;
    }
    missing.unshift(at);
    if (path.dirname(at) === at) break;
  }
  const created: string[] = [];
  for (const d of missing) {
    try {
      await mkdir(d, o.mode === undefined ? undefined : { mode: o.mode });
      created.push(d);
    } catch (err) {
      await removeFolders(created);
      throw fail(errCode(err));
    }
  }
  return created;
}

/** Remove folders made by `makeFolder`, innermost first, if they are still empty. */
export async function removeFolders(created: readonly string[]): Promise<void> {
  for (const d of [...created].reverse()) await rmdir(d).catch(() => undefined);
}
