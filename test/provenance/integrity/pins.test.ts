import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, cpSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../../src/errors.js';
import { MODEL_SIGNING_IGNORE, buildManifest } from '../../../src/provenance/integrity/manifest.js';
import { checkPins, commitPin, defaultPinFile, formatPinMismatch, listPins, readPins, revokePin, updatePin } from '../../../src/provenance/integrity/pins.js';
import type { PinOptions } from '../../../src/provenance/integrity/pins.js';
import type { Manifest } from '../../../src/provenance/integrity/manifest.js';

/** Check and commit, as a successful scan does. */
const pinNow = async (m: Manifest, o: PinOptions) => commitPin(await checkPins(m, o));

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-pins-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function folder(files: Record<string, string> = { 'config.json': '{}', 'model.onnx': 'graph', 'tokenizer.json': '{"v":1}' }): string {
  const d = path.join(tmp, `model-${n++}`);
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(d, p)), { recursive: true });
    writeFileSync(path.join(d, p), c);
  }
  return d;
}
const manifest = (d: string) => buildManifest(d, { ignore: MODEL_SIGNING_IGNORE });
const pinFile = () => path.join(tmp, `cfg-${n++}`, 'trigger-scan', 'pins.json');

describe('pin file location', () => {
  it('$TRIGGER_SCAN_PINS, then $XDG_CONFIG_HOME, then ~/.config', () => {
    expect(defaultPinFile({ TRIGGER_SCAN_PINS: '/x/p.json' })).toBe('/x/p.json');
    expect(defaultPinFile({ XDG_CONFIG_HOME: '/cfg' })).toBe('/cfg/trigger-scan/pins.json');
    expect(defaultPinFile({ XDG_CONFIG_HOME: 'relative' })).toBe(path.join(os.homedir(), '.config', 'trigger-scan', 'pins.json'));
    expect(defaultPinFile({})).toBe(path.join(os.homedir(), '.config', 'trigger-scan', 'pins.json'));
  });
});

describe('checkPins', () => {
  it('accept-new records first sight (file 0600, parent created), then matches', async () => {
    const d = folder();
    const file = pinFile();
    const first = await pinNow(await manifest(d), { file, mode: 'accept-new', name: 'org/model@abc' });
    expect(first.status).toBe('recorded');
    expect(first.failed).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.version).toBe(1);
    expect(Object.keys(saved.models['org/model@abc'].files)).toEqual(['config.json', 'model.onnx', 'tokenizer.json']);
    // no temp files left beside it
    expect(readdirSync(path.dirname(file))).toEqual(['pins.json']);

    const again = await pinNow(await manifest(d), { file, mode: 'strict', name: 'org/model@abc' });
    expect(again.status).toBe('match');
    expect((await readPins(file)).get('org/model@abc')?.lastSeen).toBeDefined();
  });

  it('a changed, missing or extra file is a hard failure with a per-file diff', async () => {
    const d = folder();
    const file = pinFile();
    await pinNow(await manifest(d), { file, mode: 'accept-new', name: 'm' });
    writeFileSync(path.join(d, 'model.onnx'), 'graph with a backdoor');
    rmSync(path.join(d, 'tokenizer.json'));
    writeFileSync(path.join(d, 'custom_ops.so'), 'ELF');
    for (const mode of ['strict', 'accept-new'] as const) {
      const c = await pinNow(await manifest(d), { file, mode, name: 'm' });
      expect(c.status).toBe('mismatch');
      expect(c.failed).toBe(true);
      expect(c.diff.changed.map((x) => x.path)).toEqual(['model.onnx']);
      expect(c.diff.missing).toEqual(['tokenizer.json']);
      expect(c.diff.extra).toEqual(['custom_ops.so']);
      const text = formatPinMismatch(c);
      const lines = text.split('\n');
      expect(lines[0]).toContain(d);
      expect(lines[0]).toMatch(/CHANGED/);
      expect(text).toMatch(/changed {2}model\.onnx/);
      expect(text).toMatch(/missing {2}tokenizer\.json/);
      expect(text).toMatch(/extra {4}custom_ops\.so/);
      expect(text).toMatch(/trigger-scan pin update/);
    }
    // a mismatch never rewrites the pin
    expect(Object.keys((await readPins(file)).get('m')?.files ?? {})).toContain('tokenizer.json');
  });

  it('strict mode fails on an unknown model; knownAs names a pin with the same contents', async () => {
    const d = folder();
    const file = pinFile();
    await pinNow(await manifest(d), { file, mode: 'accept-new', name: 'original' });
    const copy = path.join(tmp, `copy-${n++}`);
    cpSync(d, copy, { recursive: true });
    const c = await checkPins(await manifest(copy), { file, mode: 'strict' });
    expect(c.status).toBe('unknown');
    expect(c.failed).toBe(true);
    expect(c.name).toBe(copy);
    expect(c.knownAs).toEqual(['original']);
    expect(c.message).toMatch(/same contents are pinned as "original"/);
  });

  it('default names are the real path, so a copy is its own pin; a chosen name follows the contents', async () => {
    const d = folder();
    const file = pinFile();
    const a = await pinNow(await manifest(d), { file, mode: 'accept-new' });
    expect(a.name).toBe(d);
    const copy = path.join(tmp, `copy-${n++}`);
    cpSync(d, copy, { recursive: true });
    expect((await pinNow(await manifest(copy), { file, mode: 'accept-new' })).status).toBe('recorded');
    await pinNow(await manifest(d), { file, mode: 'accept-new', name: 'shared' });
    expect((await checkPins(await manifest(copy), { file, mode: 'strict', name: 'shared' })).status).toBe('match');
  });

  it('off does nothing; the check alone never writes, only commitPin records', async () => {
    const d = folder();
    const file = pinFile();
    expect((await pinNow(await manifest(d), { file, mode: 'off' })).status).toBe('off');
    const check = await checkPins(await manifest(d), { file, mode: 'accept-new' });
    expect(check.status).toBe('new');
    expect(() => statSync(file)).toThrow();
    // A match's lastSeen is also written only on commit.
    const recorded = await commitPin(check);
    expect(recorded.status).toBe('recorded');
    expect(recorded.message).toMatch(/first use, pinned 3 files/);
    const before = (await readPins(file)).get(d)?.lastSeen;
    const match = await checkPins(await manifest(d), { file, mode: 'strict', now: new Date(Date.parse(before ?? '') + 60_000) });
    expect(match.status).toBe('match');
    expect((await readPins(file)).get(d)?.lastSeen).toBe(before);
    await commitPin(match);
    expect((await readPins(file)).get(d)?.lastSeen).not.toBe(before);
  });

  it('a pin file that cannot be written fails the check (before any work), leaves nothing, never hangs', async () => {
    const d = folder();
    const m = await manifest(d);
    // Node's recursive mkdir spins forever under /proc; the pin folder is made one level at a time.
    const proc = await checkPins(m, { file: '/proc/x/trigger-scan/pins.json', mode: 'accept-new' }).catch((e: unknown) => e);
    expect(isUserError(proc), String(proc)).toBe(true);
    expect((proc as Error).message).toMatch(/^\/proc\/x\/trigger-scan: cannot create the pin folder \(/);
    // A parent that is a file, and the check leaves no folder or temporary behind when it passes.
    const blocker = path.join(tmp, `blocker-${n++}`);
    writeFileSync(blocker, 'x');
    const under = await checkPins(m, { file: path.join(blocker, 'sub', 'pins.json'), mode: 'accept-new' }).catch((e: unknown) => e);
    expect((under as Error).message).toBe(`${path.join(blocker, 'sub', 'pins.json')}: pin file cannot read (ENOTDIR)`);
    const file = pinFile();
    expect((await checkPins(m, { file, mode: 'accept-new' })).status).toBe('new');
    expect(() => statSync(path.dirname(path.dirname(file)))).toThrow();
    // A match or strict mode writes nothing on commit failure paths, so they are not checked.
    expect((await checkPins(m, { file: '/proc/x/pins.json', mode: 'strict' })).status).toBe('unknown');
  });

  it('names that are prototype keys are plain names', async () => {
    const d = folder();
    const file = pinFile();
    for (const name of ['__proto__', 'constructor', 'hasOwnProperty']) {
      expect((await pinNow(await manifest(d), { file, mode: 'accept-new', name })).status).toBe('recorded');
      expect((await checkPins(await manifest(d), { file, mode: 'strict', name })).status).toBe('match');
    }
    expect((await listPins(file)).map((e) => e.name)).toEqual(['__proto__', 'constructor', 'hasOwnProperty']);
  });

  it('a corrupt or future pin file is a UserError naming it', async () => {
    const d = folder();
    for (const [text, re] of [['{not json', /pin file is not valid JSON/], ['{"version":2,"models":{}}', /version 2/], ['{"version":1,"models":{"x":{"files":{}}}}', /malformed/]] as const) {
      const file = pinFile();
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      const err = await checkPins(await manifest(d), { file, mode: 'strict', name: 'x' }).catch((e: unknown) => e);
      expect(isUserError(err)).toBe(true);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).toContain(file);
    }
  });
});

describe('pin update / list / revoke', () => {
  it('update accepts new contents and reports the diff; revoke removes the pin', async () => {
    const d = folder();
    const file = pinFile();
    const first = await updatePin(await manifest(d), { file, name: 'm', note: 'from HF' });
    expect(first.previous).toBeUndefined();
    writeFileSync(path.join(d, 'model.onnx'), 'v2');
    const second = await updatePin(await manifest(d), { file, name: 'm' });
    expect(second.diff.changed.map((c) => c.path)).toEqual(['model.onnx']);
    expect(second.record.firstSeen).toBe(first.record.firstSeen);
    expect(second.record.updatedAt).toBeDefined();
    expect(second.record.note).toBe('from HF');
    expect((await checkPins(await manifest(d), { file, mode: 'strict', name: 'm' })).status).toBe('match');
    expect((await listPins(file)).map((e) => e.name)).toEqual(['m']);
    await revokePin('m', file);
    expect(await listPins(file)).toEqual([]);
    const err = await revokePin('m', file).catch((e: unknown) => e);
    expect(isUserError(err)).toBe(true);
  });
});
