import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isUserError } from '../../../src/errors.js';
import { MODEL_SIGNING_IGNORE, buildManifest, comparePosixPaths } from '../../../src/provenance/integrity/manifest.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ts-man-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (s: string | Uint8Array): string => createHash('sha256').update(s).digest('hex');

async function put(rel: string, content: string | Uint8Array): Promise<void> {
  const p = path.join(dir, ...rel.split('/'));
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, content);
}

async function caught(p: Promise<unknown>): Promise<Error & { code?: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isUserError(e)).toBe(true);
  return e as Error & { code?: string };
}

describe('comparePosixPaths', () => {
  it('orders like Python PurePosixPath (component-wise, by code point)', () => {
    const paths = ['b', 'a.b', '\u{1F600}', 'a-c/x', 'a/c', '\ue000', 'a/b'];
    // sorted([PurePosixPath(p) for p in paths]) in CPython 3.11
    expect([...paths].sort(comparePosixPaths)).toEqual(['a/b', 'a/c', 'a-c/x', 'a.b', 'b', '\ue000', '\u{1F600}']);
  });
});

describe('buildManifest', () => {
  it('hashes every regular file with size and sha256, POSIX paths, signer order', async () => {
    await put('config.json', '{}');
    await put('onnx/model.onnx', 'graph');
    await put('a.b', 'dot');
    await put('a/b', 'slash');
    await put('empty', '');
    const m = await buildManifest(dir);
    expect(m.files).toEqual([
      { path: 'a/b', size: 5, sha256: sha('slash') },
      { path: 'a.b', size: 3, sha256: sha('dot') },
      { path: 'config.json', size: 2, sha256: sha('{}') },
      { path: 'empty', size: 0, sha256: sha('') },
      { path: 'onnx/model.onnx', size: 5, sha256: sha('graph') },
    ]);
  });

  it('computes the model_signing root over raw digests in that order', async () => {
    await put('b.txt', 'B');
    await put('a/x.txt', 'A');
    const m = await buildManifest(dir);
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from(sha('A'), 'hex'), Buffer.from(sha('B'), 'hex')]))
      .digest('hex');
    expect(m.rootDigest).toBe(expected);
  });

  it('computes directoryDigest exactly as `find | LC_ALL=C sort | xargs sha256sum | sha256sum`', async () => {
    await put('a.b', 'dot');
    await put('a/b', 'slash');
    await put('Z', 'upper');
    await put('sp ace', 'x');
    await put('ü', 'umlaut');
    const content: Record<string, string> = { Z: 'upper', 'a.b': 'dot', 'a/b': 'slash', 'sp ace': 'x', ü: 'umlaut' };
    const m = await buildManifest(dir);
    // LC_ALL=C order is byte order: 'Z' < 'a.b' < 'a/b' ('.' < '/') < 'sp ace' < 'ü'.
    const lines = ['Z', 'a.b', 'a/b', 'sp ace', 'ü'].map((p) => `${sha(content[p] as string)}  ${p}\n`);
    expect(m.directoryDigest).toBe(sha(lines.join('')));
    const shell = execFileSync('bash', ['-c', "find . -type f | cut -c3- | LC_ALL=C sort | tr '\\n' '\\0' | xargs -0 sha256sum | sha256sum"], { cwd: dir }).toString();
    expect(shell.split(' ')[0]).toBe(m.directoryDigest);
  });

  it('binds names in directoryDigest but not in rootDigest', async () => {
    await put('a', '1');
    await put('b', '2');
    const before = await buildManifest(dir);
    // Rename b -> a0: same contents, same sort position, different name.
    await rm(path.join(dir, 'b'));
    await put('a0', '2');
    const after = await buildManifest(dir);
    expect(after.files.map((f) => f.path)).toEqual(['a', 'a0']);
    expect(after.rootDigest).toBe(before.rootDigest);
    expect(after.directoryDigest).not.toBe(before.directoryDigest);
  });

  it('refuses a symlink, naming it, even one pointing inside the folder', async () => {
    await put('real.json', '{}');
    await symlink(path.join(dir, 'real.json'), path.join(dir, 'config.json'));
    const e = await caught(buildManifest(dir));
    expect(e.code).toBe('E_MANIFEST_SYMLINK');
    expect(e.message).toContain(path.join(dir, 'config.json'));
    expect(e.message).not.toContain('\n');
  });

  it('refuses a symlinked folder', async () => {
    await put('x/w', '1');
    await symlink(path.join(dir, 'x'), path.join(dir, 'y'));
    expect((await caught(buildManifest(dir))).code).toBe('E_MANIFEST_SYMLINK');
  });

  it('refuses a FIFO without blocking on it', async () => {
    await put('config.json', '{}');
    execFileSync('mkfifo', [path.join(dir, 'pipe')]);
    const e = await caught(buildManifest(dir));
    expect(e.code).toBe('E_MANIFEST_SPECIAL');
    expect(e.message).toContain('pipe');
  });

  it('skips ignored paths without descending into them', async () => {
    await put('config.json', '{}');
    await put('.git/HEAD', 'ref');
    await symlink('/etc/passwd', path.join(dir, '.git', 'link'));
    await put('.gitattributes', '*');
    await put('sub/.git', 'not ignored: only the top-level path is');
    const m = await buildManifest(dir, { ignore: MODEL_SIGNING_IGNORE });
    expect(m.files.map((f) => f.path)).toEqual(['config.json', 'sub/.git']);
    expect(m.ignored).toContain('.git');
  });

  it('ignores nested paths given as POSIX relative paths', async () => {
    await put('a/skip/x', '1');
    await put('a/keep', '2');
    const m = await buildManifest(dir, { ignore: ['a/skip/'] });
    expect(m.files.map((f) => f.path)).toEqual(['a/keep']);
  });

  it('refuses names that are not UTF-8 or contain line breaks', async () => {
    await writeFile(Buffer.concat([Buffer.from(dir + '/'), Buffer.from([0x66, 0xff])]), 'x');
    expect((await caught(buildManifest(dir))).code).toBe('E_MANIFEST_NAME');
    await rm(dir, { recursive: true });
    await mkdir(dir);
    await put('a\nb', 'x');
    expect((await caught(buildManifest(dir))).code).toBe('E_MANIFEST_NAME');
  });

  it('refuses a missing folder or a file in its place', async () => {
    expect((await caught(buildManifest(path.join(dir, 'nope')))).code).toBe('E_MANIFEST_READ');
    await put('f', '1');
    expect((await caught(buildManifest(path.join(dir, 'f')))).code).toBe('E_MANIFEST_NOT_DIR');
  });

  it('accepts the folder argument itself being a symlink', async () => {
    await put('m/config.json', '{}');
    await symlink(path.join(dir, 'm'), path.join(dir, 'link'));
    const m = await buildManifest(path.join(dir, 'link'));
    expect(m.files.map((f) => f.path)).toEqual(['config.json']);
  });

  it('caps the file count', async () => {
    for (let i = 0; i < 5; i++) await put(`f${i}`, String(i));
    expect((await caught(buildManifest(dir, { maxFiles: 4 }))).code).toBe('E_MANIFEST_LIMIT');
  });

  it('hashes many files and a multi-chunk file with bounded concurrency', async () => {
    const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 0xff);
    await put('big.bin', big);
    for (let i = 0; i < 200; i++) await put(`shards/s${String(i).padStart(3, '0')}`, `shard ${i}`);
    const m = await buildManifest(dir, { concurrency: 2 });
    expect(m.files.length).toBe(201);
    expect(m.files.find((f) => f.path === 'big.bin')).toEqual({ path: 'big.bin', size: big.length, sha256: sha(big) });
    expect(m.files.find((f) => f.path === 'shards/s123')?.sha256).toBe(sha('shard 123'));
  });
});
