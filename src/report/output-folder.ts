import { lstat, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { makeFolder as makeFolderOf, removeFolders } from '../util/make-folder.js';

/**
 * The folder reports are written into. It is created one level at a time (Node's recursive mkdir
 * never returns on some paths, e.g. under /proc), checked before a scan starts so that a bad
 * `--out` fails in a second rather than after the scan, and cleaned of the temporary files that a
 * killed run left behind.
 */

/** Files trigger-scan writes into a report folder; only their temporaries are ever removed. */
export const OUTPUT_FILES = ['report.json', 'report.md', 'report.html', 'report.sarif', 'report.junit.xml', 'report.intoto.json', 'summary.json', 'summary.md', 'summary.html', 'history.html'] as const;
const WRITE_TEST = '.trigger-scan-write-test';
const TEMP = /^(.+)\.(\d+)\.tmp$/;

const errCode = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** Write through a temporary name and rename, so a reader never sees half a report. */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new UserError('E_OUT', `${file}: cannot write the report (${errCode(err)})`, file);
  }
}

/** Whether process `pid` is gone (a temporary of a live run, ours or another's, is left alone). */
function isDead(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Remove `<report file>.<pid>.tmp` files of runs that are no longer alive; returns their names. */
export async function removeStaleTemporaries(dir: string): Promise<string[]> {
  const known = new Set<string>([...OUTPUT_FILES, WRITE_TEST]);
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = TEMP.exec(name);
    if (!m || !known.has(m[1]!) || !isDead(Number(m[2]))) continue;
    const file = path.join(dir, name);
    // Only regular files: a folder or link of that name is not ours.
    if (!(await lstat(file).then((s) => s.isFile(), () => false))) continue;
    await rm(file, { force: true }).then(() => removed.push(name), () => undefined);
  }
  return removed;
}

/**
 * Create the report folder `dir` and any missing parents, one level at a time. Returns the folders
 * it created, outermost first; an error is one line naming the folder.
 */
export const makeFolder = (dir: string): Promise<string[]> => makeFolderOf(dir, { what: 'report folder', code: 'E_OUT' });

export interface OutputFolder {
  dir: string;
  /** Remove what `prepareOutputFolder` created (empty folders only): the run failed before writing. */
  discard(): Promise<void>;
}

/**
 * Make sure reports can be written into `dir` before any work starts: create it, write and remove
 * a test file, and clear stale temporaries. On failure nothing is left behind.
 */
export async function prepareOutputFolder(dir: string): Promise<OutputFolder> {
  const abs = path.resolve(dir);
  const created = await makeFolder(abs);
  const probe = path.join(abs, `${WRITE_TEST}.${process.pid}.tmp`);
  try {
    await writeFile(probe, '', { flag: 'wx' });
    await rm(probe, { force: true });
  } catch (err) {
    await rm(probe, { force: true }).catch(() => undefined);
    await removeFolders(created);
    throw new UserError('E_OUT', `${abs}: the report folder is not writable (${errCode(err)})`, abs);
  }
  await removeStaleTemporaries(abs);
  return { dir: abs, discard: () => removeFolders(created) };
}
