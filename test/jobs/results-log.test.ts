import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, readResultsLog, ResultsLogWriter, type HeaderRecord, type UnitRecord } from '../../src/jobs/results-log.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-rlog-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const header: HeaderRecord = { kind: 'header', format: 1, tool: 't', identity: 'i', work: 'w', threads: 2, shard: null, state: { note: 'ünïcode \u2028 and "quotes"' } };
const unit = (n: number): UnitRecord => ({ kind: 'unit', unit: n, key: `g${n}`, probes: [n, n + 1], outcomes: [{ divergence: 0.1 * n, output: `out ${n}` }], stats: { forwardPasses: n } });

describe('results log records', () => {
  it('round-trip exactly, and any change to a record is detected', () => {
    const line = encodeRecord(unit(3)).trimEnd();
    expect(decodeRecord(line)).toEqual(unit(3));
    expect(decodeRecord(line.replace('out 3', 'out 4'))).toBeUndefined();
    expect(decodeRecord(line.slice(0, -1))).toBeUndefined();
    expect(decodeRecord('{"kind":"unit"}')).toBeUndefined();
  });

  it('a writer appends flushed records; reading stops at a torn last record and resuming cuts it off', async () => {
    const file = path.join(tmp, 'a.log');
    const w = await ResultsLogWriter.create(file, header);
    await w.append({ kind: 'clean', references: { clean: [] } });
    for (const n of [0, 1, 2]) await w.append(unit(n));
    await w.close();
    expect(w.records).toBe(5);
    const full = readFileSync(file);
    const whole = await readResultsLog(file);
    expect(whole.header).toEqual(header);
    expect([...whole.units.keys()]).toEqual([0, 1, 2]);
    expect(whole.validBytes).toBe(full.length);

    // kill -9 in the middle of a write: the last record lacks its end.
    truncateSync(file, full.length - 10);
    const torn = await readResultsLog(file);
    expect([...torn.units.keys()]).toEqual([0, 1]);
    expect(torn.droppedBytes).toBe(full.length - 10 - torn.validBytes);
    const again = await ResultsLogWriter.resume(file, torn.validBytes);
    await again.append(unit(2));
    await again.close();
    expect(readFileSync(file)).toEqual(full);

    // A damaged record in the middle: it and everything after it are redone, never trusted.
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[2] = lines[2]!.replace('"unit":0', '"unit":9');
    writeFileSync(file, lines.join('\n'));
    expect([...(await readResultsLog(file)).units.keys()]).toEqual([]);
    // A record before any header is not a log of a scan.
    const headless = path.join(tmp, 'b.log');
    writeFileSync(headless, encodeRecord(unit(1)));
    appendFileSync(headless, encodeRecord(header));
    expect((await readResultsLog(headless)).header).toBeUndefined();
    expect((await readResultsLog(path.join(tmp, 'none.log'))).validBytes).toBe(0);
  });
});
