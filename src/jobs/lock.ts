/**
 * A lock file in the report folder, so two scans never write one folder (and one results log) at a
 * time. It names its owner (pid, host, the process's start time); a lock whose owner is gone (a scan
 * killed by the OOM killer or a reboot) is stale and is taken over, with a message.
 */
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.js';

export const LOCK_FILE = '.trigger-scan.lock';

interface LockOwner {
  pid: number;
  host: string;
  /** Kernel start time of the process (Linux): a reused pid has another one. */
  started: string | null;
  since: string;
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function alive(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const started = processStart(owner.pid);
  return !(owner.started && started && owner.started !== started);
}

export interface FolderLock {
  file: string;
  release(): Promise<void>;
}

/**
 * Take the lock of `dir` or fail with one line naming the scan that holds it. `onNotice` hears of a
 * stale lock taken over. A lock of another host is never taken over: its owner cannot be checked.
 */
export async function acquireLock(dir: string, onNotice?: (message: string) => void): Promise<FolderLock> {
  const file = path.join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: os.hostname(), started: processStart(process.pid), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, JSON.stringify(me) + '\n', { flag: 'wx' });
      return { file, release: () => rm(file, { force: true }).catch(() => undefined) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError('E_OUT', `${file}: cannot create the lock file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, file);
    }
    let owner: LockOwner | undefined;
    try {
      const v = JSON.parse(await readFile(file, 'utf8')) as Partial<LockOwner>;
      if (typeof v.pid === 'number' && typeof v.host === 'string') owner = { pid: v.pid, host: v.host, started: typeof v.started === 'string' ? v.started : null, since: String(v.since ?? '') };
    } catch {
      // Unreadable or half written: its writer died while creating it.
    }
    if (owner && (owner.host !== me.host || alive(owner))) {
      throw new UserError('E_LOCKED', `${dir}: another trigger-scan (pid ${owner.pid} on ${owner.host}, since ${owner.since}) is writing this folder; wait for it, or remove ${file} if that scan is gone`, file);
    }
    await rm(file, { force: true });
    onNotice?.(owner ? `${file}: took over the lock of pid ${owner.pid}, which is no longer running` : `${file}: removed an unreadable lock file`);
  }
  throw new UserError('E_LOCKED', `${dir}: another trigger-scan took the lock at the same moment`, file);
}
