import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkSafetensorsIndex, isPlainShardName } from '../../src/formats/safetensors-index.js';
import { f32, safetensors } from '../provenance/helpers/build.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ts-idx-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ids = (r: { findings: { id: string }[] }): string[] => r.findings.map((f) => f.id).sort();
const shard = (...names: string[]): Uint8Array => safetensors(names.map((name) => ({ name, dtype: 'F32', shape: [1], data: f32(1) })));
const writeIndex = (weightMap: Record<string, unknown> | string): Promise<void> =>
  writeFile(path.join(dir, 'model.safetensors.index.json'), typeof weightMap === 'string' ? weightMap : JSON.stringify({ metadata: {}, weight_map: weightMap }));

describe('isPlainShardName', () => {
  it.each(['model-00001-of-00002.safetensors', 'a b.safetensors', 'ünï.safetensors'])('accepts %s', (n) => expect(isPlainShardName(n)).toBe(true));
  it.each(['', '.', '..', '../x.safetensors', 'sub/x.safetensors', '/etc/passwd', 'a\\b', 'C:x', 'https://h/x', 'x..safetensors', 'a\nb'])('rejects %j', (n) =>
    expect(isPlainShardName(n)).toBe(false),
  );
});

describe('checkSafetensorsIndex', () => {
  it('passes a consistent sharded model', async () => {
    await writeFile(path.join(dir, 'm-1.safetensors'), shard('a', 'b'));
    await writeFile(path.join(dir, 'm-2.safetensors'), shard('c'));
    await writeIndex({ a: 'm-1.safetensors', b: 'm-1.safetensors', c: 'm-2.safetensors' });
    const r = await checkSafetensorsIndex(dir, { checkShards: true });
    expect(r.findings).toEqual([]);
    expect(r.shards).toEqual(['m-1.safetensors', 'm-2.safetensors']);
    expect(r.weightMap.get('c')).toBe('m-2.safetensors');
  });

  it('flags traversal and absolute shard names as critical and never opens them', async () => {
    await writeIndex({ a: '../../etc/passwd', b: '/etc/passwd', c: 'sub/m.safetensors' });
    const r = await checkSafetensorsIndex(dir, { checkShards: true });
    const unsafe = r.findings.filter((f) => f.id === 'safetensors-index.unsafe-shard-name');
    expect(unsafe.map((f) => f.detail?.['shard'])).toEqual(['../../etc/passwd', '/etc/passwd', 'sub/m.safetensors']);
    expect(unsafe.every((f) => f.severity === 'critical')).toBe(true);
    expect(r.shards).toEqual([]);
    expect(ids(r)).not.toContain('safetensors-index.missing-shard');
  });

  it('reports missing shards and shards that are symlinks', async () => {
    await writeFile(path.join(dir, 'real.bin'), shard('b'));
    await symlink(path.join(dir, 'real.bin'), path.join(dir, 'link.safetensors'));
    await writeIndex({ a: 'gone.safetensors', b: 'link.safetensors' });
    const r = await checkSafetensorsIndex(dir);
    expect(ids(r)).toEqual(['safetensors-index.missing-shard', 'safetensors-index.shard-not-regular-file']);
  });

  it('compares shard headers with weight_map when asked', async () => {
    await writeFile(path.join(dir, 'm-1.safetensors'), shard('a', 'hidden'));
    await writeFile(path.join(dir, 'm-2.safetensors'), shard('c', 'a'));
    await writeIndex({ a: 'm-1.safetensors', b: 'm-1.safetensors', c: 'm-2.safetensors' });
    const r = await checkSafetensorsIndex(dir, { checkShards: true });
    expect(ids(r)).toEqual(['safetensors-index.tensor-missing-from-shard', 'safetensors-index.unlisted-tensor', 'safetensors-index.unlisted-tensor']);
    const unlisted = r.findings.filter((f) => f.id === 'safetensors-index.unlisted-tensor');
    expect(unlisted.map((f) => [f.detail?.['tensor'], f.severity])).toEqual([
      ['hidden', 'medium'],
      ['a', 'high'],
    ]);
  });

  it('includes a broken shard’s own findings', async () => {
    const bad = shard('a');
    bad[0] = 0xff;
    await writeFile(path.join(dir, 'm.safetensors'), bad);
    await writeIndex({ a: 'm.safetensors' });
    const r = await checkSafetensorsIndex(dir, { checkShards: true });
    expect(ids(r)).toEqual(['safetensors-index.invalid-shard', 'safetensors.header-out-of-bounds']);
  });

  it('notes shards in the folder that the index never mentions', async () => {
    await writeFile(path.join(dir, 'm.safetensors'), shard('a'));
    await writeFile(path.join(dir, 'extra.safetensors'), shard('z'));
    await writeIndex({ a: 'm.safetensors' });
    const r = await checkSafetensorsIndex(dir);
    expect(r.findings.map((f) => [f.id, f.severity])).toEqual([['safetensors-index.unreferenced-shard', 'low']]);
  });

  it.each([
    ['duplicate keys', '{"weight_map":{"a":"m.safetensors","a":"evil.safetensors"}}', 'safetensors-index.duplicate-key'],
    ['invalid JSON', '{"weight_map":', 'safetensors-index.not-json'],
    ['no weight_map', '{"metadata":{}}', 'safetensors-index.bad-weight-map'],
    ['non-string shard', '{"weight_map":{"a":3}}', 'safetensors-index.bad-weight-map'],
  ])('reports %s', async (_n, text, id) => {
    await writeFile(path.join(dir, 'm.safetensors'), shard('a'));
    await writeIndex(text);
    const r = await checkSafetensorsIndex(dir);
    expect(ids(r)).toContain(id);
  });

  it('reports a missing or oversized index as findings', async () => {
    expect(ids(await checkSafetensorsIndex(dir))).toEqual(['safetensors-index.unreadable']);
    await writeIndex({ a: 'm.safetensors' });
    expect(ids(await checkSafetensorsIndex(dir, { maxIndexBytes: 10 }))).toEqual(['safetensors-index.too-large']);
  });

  it('caps the shard count', async () => {
    const wm: Record<string, string> = {};
    for (let i = 0; i < 5; i++) wm[`t${i}`] = `m-${i}.safetensors`;
    await writeIndex(wm);
    expect(ids(await checkSafetensorsIndex(dir, { maxShards: 4 }))).toEqual(['safetensors-index.too-many-shards']);
  });

  it('honours a custom index name in a nested folder', async () => {
    await mkdir(path.join(dir, 'sub'));
    await writeFile(path.join(dir, 'sub', 'x.safetensors'), shard('a'));
    await writeFile(path.join(dir, 'sub', 'diffusion.index.json'), JSON.stringify({ weight_map: { a: 'x.safetensors' } }));
    const r = await checkSafetensorsIndex(path.join(dir, 'sub'), { indexName: 'diffusion.index.json', checkShards: true });
    expect(r.findings).toEqual([]);
  });
});
