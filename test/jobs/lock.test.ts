import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock, LOCK_FILE } from '../../src/jobs/lock.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-lock-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the report folder lock', () => {
  it('stops a second scan, and is free again once released', async () => {
    const dir = path.join(tmp, 'a');
    rmSync(dir, { recursive: true, force: true });
    (await import('node:fs')).mkdirSync(dir);
    const lock = await acquireLock(dir);
    expect(JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await expect(acquireLock(dir)).rejects.toThrow(new RegExp(`another trigger-scan \\(pid ${process.pid} on .*\\) is writing this folder`));
    await lock.release();
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    await (await acquireLock(dir)).release();
  });

  it('takes over the lock of a process that is gone, and says so; never one of a live process', async () => {
    const dir = path.join(tmp, 'b');
    (await import('node:fs')).mkdirSync(dir, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid, host: os.hostname(), started: '1', since: '2026-01-01T00:00:00Z' }));
    const notices: string[] = [];
    const lock = await acquireLock(dir, (m) => notices.push(m));
    expect(notices).toEqual([expect.stringMatching(new RegExp(`took over the lock of pid ${deadPid}, which is no longer running`))]);
    await lock.release();

    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: live.pid, host: os.hostname(), started: null, since: 'now' }));
      await expect(acquireLock(dir)).rejects.toThrow(/is writing this folder/);
      // A live pid whose start time differs is another process that reused the number: stale.
      writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: live.pid, host: os.hostname(), started: 'not-its-start-time', since: 'then' }));
      const taken = await acquireLock(dir, () => undefined);
      await taken.release();
    } finally {
      live.kill('SIGKILL');
    }
  });
});
