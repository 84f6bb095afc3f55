import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeFolder, prepareOutputFolder, removeStaleTemporaries } from '../../src/report/output-folder.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-out-folder-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the report folder', () => {
  it('is made one level at a time, and a failed run removes only what it made', async () => {
    mkdirSync(path.join(tmp, 'have'));
    const created = await makeFolder(path.join(tmp, 'have/a/b'));
    expect(created).toEqual([path.join(tmp, 'have/a'), path.join(tmp, 'have/a/b')]);
    expect(await makeFolder(path.join(tmp, 'have/a/b'))).toEqual([]);

    const out = await prepareOutputFolder(path.join(tmp, 'have/x/y'));
    expect(readdirSync(out.dir)).toEqual([]);
    await out.discard();
    expect(existsSync(path.join(tmp, 'have/x'))).toBe(false);
    expect(existsSync(path.join(tmp, 'have/a/b'))).toBe(true);
  });

  it('keeps a folder that existed, and one a run has written into', async () => {
    const out = await prepareOutputFolder(path.join(tmp, 'kept/reports'));
    writeFileSync(path.join(out.dir, 'report.json'), '{}');
    await out.discard();
    expect(readdirSync(path.join(tmp, 'kept/reports'))).toEqual(['report.json']);
  });

  it('removes temporaries of dead runs only: not live ones, not other files, not folders', async () => {
    const dir = path.join(tmp, 'stale');
    mkdirSync(dir);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    for (const n of [`report.md.${dead}.tmp`, `report.html.${dead}.tmp`, `report.md.${process.pid}.tmp`, `other.${dead}.tmp`]) writeFileSync(path.join(dir, n), '');
    mkdirSync(path.join(dir, `report.sarif.${dead}.tmp`));
    expect((await removeStaleTemporaries(dir)).sort()).toEqual([`report.html.${dead}.tmp`, `report.md.${dead}.tmp`]);
    expect(readdirSync(dir).sort()).toEqual([`other.${dead}.tmp`, `report.md.${process.pid}.tmp`, `report.sarif.${dead}.tmp`]);
  });
});
