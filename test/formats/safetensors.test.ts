import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src/errors.js';
import { inspectSafetensors, inspectSafetensorsBytes, openSafetensors } from '../../src/formats/safetensors.js';
import { concat, f32, rawSafetensors, safetensors } from '../provenance/helpers/build.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ts-st-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ids = (r: { findings: { id: string }[] }): string[] => r.findings.map((f) => f.id);
const hdr = (h: Record<string, unknown>): string => JSON.stringify(h);
const W = f32(1, 2);

function f16bits(x: number): number[] {
  // Only the values used below: 1, -2, 0.5, 65504, inf
  const table: Record<string, number> = { '1': 0x3c00, '-2': 0xc000, '0.5': 0x3800, '65504': 0x7bff, Infinity: 0x7c00 };
  const v = table[String(x)] as number;
  return [v & 0xff, v >> 8];
}

describe('inspectSafetensorsBytes', () => {
  it('accepts a well-formed file and lists tensors in data order with file offsets', async () => {
    const bytes = safetensors(
      [
        { name: 'b', dtype: 'F32', shape: [2], data: W },
        { name: 'a', dtype: 'I8', shape: [2, 2], data: Uint8Array.of(1, 2, 3, 4) },
        { name: 'empty', dtype: 'F32', shape: [0, 3], data: new Uint8Array(0) },
      ],
      { format: 'pt' },
    );
    const r = await inspectSafetensorsBytes(bytes, 'm.safetensors');
    expect(r.valid).toBe(true);
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(r.tensors.map((t) => [t.name, t.dataOffsets])).toEqual([
      ['b', [0, 8]],
      ['a', [8, 12]],
      ['empty', [12, 12]],
    ]);
    const t0 = r.tensors[0];
    expect(t0?.fileOffset).toBe(8 + (r.headerLength as number));
    expect(r.metadata.get('format')).toBe('pt');
  });

  it('names the file in every finding message', async () => {
    const r = await inspectSafetensorsBytes(rawSafetensors(hdr({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }), W), 'x/model.safetensors');
    expect(r.valid).toBe(false);
    for (const f of r.findings) {
      expect(f.file).toBe('x/model.safetensors');
      expect(f.message.startsWith('x/model.safetensors: ')).toBe(true);
    }
  });

  it('refuses files shorter than 8 bytes', async () => {
    const r = await inspectSafetensorsBytes(Uint8Array.of(1, 2, 3), 's');
    expect(ids(r)).toEqual(['safetensors.too-small']);
  });

  it('checks the header length against the cap and the file before reading it', async () => {
    const small = await inspectSafetensorsBytes(rawSafetensors(hdr({}), new Uint8Array(0)), 's', { maxHeaderBytes: 1 });
    expect(ids(small)).toEqual(['safetensors.header-too-large']);
    const huge = await inspectSafetensorsBytes(rawSafetensors(hdr({}), new Uint8Array(0), 0xffffffffffffffffn), 's');
    expect(ids(huge)).toEqual(['safetensors.header-too-large']);
    const past = await inspectSafetensorsBytes(rawSafetensors(hdr({}), new Uint8Array(0), 9n), 's');
    expect(ids(past)).toEqual(['safetensors.header-out-of-bounds']);
  });

  it('requires a JSON object header', async () => {
    expect(ids(await inspectSafetensorsBytes(rawSafetensors('[1,2]', new Uint8Array(0)), 's'))).toEqual(['safetensors.header-not-object']);
    expect(ids(await inspectSafetensorsBytes(rawSafetensors('', new Uint8Array(0)), 's'))).toEqual(['safetensors.header-not-json']);
  });

  it('accepts an empty header object with no data', async () => {
    const r = await inspectSafetensorsBytes(rawSafetensors('{}', new Uint8Array(0)), 's');
    expect(r.valid).toBe(true);
  });

  it('rejects an empty-header file that still carries data (all bytes must be described)', async () => {
    const r = await inspectSafetensorsBytes(rawSafetensors('{}', W), 's');
    expect(ids(r)).toEqual(['safetensors.trailing-bytes']);
  });

  it('detects duplicates at the top level and inside entries', async () => {
    const r = await inspectSafetensorsBytes(rawSafetensors('{"w":{"dtype":"F32","dtype":"I32","shape":[2],"data_offsets":[0,8]}}', W), 's');
    expect(ids(r)).toContain('safetensors.duplicate-key');
    expect(r.valid).toBe(false);
  });

  it('treats __proto__ as an ordinary tensor name without polluting prototypes', async () => {
    const bytes = rawSafetensors('{"__proto__":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"__proto__":"x"}}', W);
    const r = await inspectSafetensorsBytes(bytes, 's');
    expect(r.valid).toBe(true);
    expect(ids(r)).toContain('safetensors.suspicious-name');
    expect(r.tensors.map((t) => t.name)).toEqual(['__proto__']);
    expect(r.metadata.get('__proto__')).toBe('x');
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['dtype']).toBeUndefined();
  });

  it('computes byte counts in BigInt, so huge shapes cannot wrap to a small size', async () => {
    // 2^32 * 2^32 elements would wrap to 0 in 64-bit arithmetic; offsets span 0 bytes.
    const r = await inspectSafetensorsBytes(rawSafetensors(hdr({ w: { dtype: 'F32', shape: [4294967296, 4294967296], data_offsets: [0, 0] } }), new Uint8Array(0)), 's');
    expect(ids(r)).toEqual(['safetensors.byte-count-mismatch']);
  });

  it('rejects sub-byte tensors that do not fill whole bytes', async () => {
    const r = await inspectSafetensorsBytes(rawSafetensors(hdr({ w: { dtype: 'F4', shape: [3], data_offsets: [0, 1] } }), Uint8Array.of(0)), 's');
    expect(ids(r)).toEqual(['safetensors.byte-count-mismatch']);
    const ok = await inspectSafetensorsBytes(rawSafetensors(hdr({ w: { dtype: 'F4', shape: [4], data_offsets: [0, 2] } }), Uint8Array.of(0, 0)), 's');
    expect(ok.valid).toBe(true);
  });

  it.each([
    ['negative', [-1]],
    ['fractional', [1.5]],
    ['string', ['2']],
    ['unsafe integer', [2 ** 53]],
    ['not an array', 2],
  ])('rejects a %s shape', async (_n, shape) => {
    const r = await inspectSafetensorsBytes(rawSafetensors(hdr({ w: { dtype: 'F32', shape, data_offsets: [0, 8] } }), W), 's');
    expect(ids(r)).toContain('safetensors.bad-shape');
  });

  it.each([
    ['reversed', [8, 0]],
    ['three values', [0, 4, 8]],
    ['negative', [-8, 0]],
    ['null', null],
  ])('rejects %s data_offsets', async (_n, offs) => {
    const r = await inspectSafetensorsBytes(rawSafetensors(hdr({ w: { dtype: 'F32', shape: [2], data_offsets: offs } }), W), 's');
    expect(ids(r)).toContain('safetensors.bad-offsets');
  });

  it('rejects a missing key in an entry', async () => {
    const r = await inspectSafetensorsBytes(rawSafetensors(hdr({ w: { dtype: 'F32', data_offsets: [0, 8] } }), W), 's');
    expect(ids(r)).toEqual(expect.arrayContaining(['safetensors.bad-entry', 'safetensors.bad-shape']));
  });

  it('reports data that ends before the tensors do', async () => {
    const r = await inspectSafetensorsBytes(rawSafetensors(hdr({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }), W), 's');
    expect(ids(r)).toEqual(['safetensors.data-out-of-bounds']);
  });

  it('caps the tensor count and the name length', async () => {
    const many: Record<string, unknown> = {};
    for (let i = 0; i < 11; i++) many[`t${i}`] = { dtype: 'U8', shape: [0], data_offsets: [0, 0] };
    expect(ids(await inspectSafetensorsBytes(rawSafetensors(hdr(many), new Uint8Array(0)), 's', { maxTensors: 10 }))).toEqual(['safetensors.too-many-tensors']);
    const long = await inspectSafetensorsBytes(rawSafetensors(hdr({ ['x'.repeat(50)]: { dtype: 'U8', shape: [0], data_offsets: [0, 0] } }), new Uint8Array(0)), 's', { maxNameLength: 10 });
    expect(ids(long)).toEqual(['safetensors.name-too-long']);
  });

  it('notes misaligned tensors without failing validation', async () => {
    const r = await inspectSafetensorsBytes(
      safetensors([
        { name: 'a', dtype: 'U8', shape: [1], data: Uint8Array.of(7) },
        { name: 'b', dtype: 'F32', shape: [1], data: f32(3) },
      ]),
      's',
    );
    expect(r.valid).toBe(true);
    expect(r.findings.map((f) => [f.id, f.severity])).toEqual([['safetensors.misaligned', 'info']]);
  });

  it('limits repeated findings of one rule', async () => {
    const h: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) h[`t${i}`] = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
    const r = await inspectSafetensorsBytes(rawSafetensors(hdr(h), W), 's');
    expect(r.valid).toBe(false);
    expect(r.findings.filter((f) => f.id === 'safetensors.overlap').length).toBe(20);
  });
});

describe('inspectSafetensors (files)', () => {
  it('reports an unreadable file as a finding', async () => {
    const r = await inspectSafetensors(path.join(dir, 'nope.safetensors'));
    expect(ids(r)).toEqual(['safetensors.unreadable']);
    expect(r.findings[0]?.message).toContain('ENOENT');
  });

  it('refuses a FIFO without blocking on it', async () => {
    const fifo = path.join(dir, 'pipe.safetensors');
    execFileSync('mkfifo', [fifo]);
    const r = await inspectSafetensors(fifo);
    expect(ids(r)).toEqual(['safetensors.unreadable']);
  });

  it('reports a folder as unreadable rather than throwing', async () => {
    const r = await inspectSafetensors(dir);
    expect(ids(r)).toEqual(['safetensors.unreadable']);
  });
});

describe('openSafetensors', () => {
  it('reads single tensors lazily and decodes every supported dtype', async () => {
    const i64 = new BigInt64Array([-5n, 1n << 40n]);
    const bytes = safetensors([
      { name: 'f32', dtype: 'F32', shape: [2, 1], data: f32(1.5, -2) },
      { name: 'f16', dtype: 'F16', shape: [5], data: Uint8Array.from([1, -2, 0.5, 65504, Infinity].flatMap(f16bits)) },
      { name: 'bf16', dtype: 'BF16', shape: [2], data: Uint8Array.of(0x80, 0x3f, 0x00, 0xc0) },
      { name: 'f64', dtype: 'F64', shape: [1], data: new Uint8Array(Float64Array.of(Math.PI).buffer) },
      { name: 'i64', dtype: 'I64', shape: [2], data: new Uint8Array(i64.buffer) },
      { name: 'i16', dtype: 'I16', shape: [2], data: new Uint8Array(Int16Array.of(-3, 300).buffer) },
      { name: 'u8', dtype: 'U8', shape: [3], data: Uint8Array.of(0, 128, 255) },
      { name: 'bool', dtype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) },
      { name: 'e4m3', dtype: 'F8_E4M3', shape: [4], data: Uint8Array.of(0x38, 0xb8, 0x7e, 0x7f) },
      { name: 'e5m2', dtype: 'F8_E5M2', shape: [3], data: Uint8Array.of(0x3c, 0x7c, 0x01) },
      { name: 'f4', dtype: 'F4', shape: [2], data: Uint8Array.of(0) },
    ]);
    const file = path.join(dir, 'dtypes.safetensors');
    await writeFile(file, bytes);
    const st = await openSafetensors(file);
    expect([...st.tensors.keys()]).toEqual(['f32', 'f16', 'bf16', 'f64', 'i64', 'i16', 'u8', 'bool', 'e4m3', 'e5m2', 'f4']);
    expect(st.tensors.get('f32')?.shape).toEqual([2, 1]);
    const f = await st.tensor('f32');
    expect(f).toBeInstanceOf(Float32Array);
    expect([...f]).toEqual([1.5, -2]);
    expect([...(await st.tensor('f16'))]).toEqual([1, -2, 0.5, 65504, Infinity]);
    expect([...(await st.tensor('bf16'))]).toEqual([1, -2]);
    expect((await st.tensor('f64'))[0]).toBe(Math.PI);
    expect([...(await st.tensor('i64'))]).toEqual([-5n, 1n << 40n]);
    expect([...(await st.tensor('i16'))]).toEqual([-3, 300]);
    expect([...(await st.tensor('u8'))]).toEqual([0, 128, 255]);
    expect([...(await st.tensor('bool'))]).toEqual([1, 0]);
    expect([...(await st.tensor('e4m3'))]).toEqual([1, -1, 448, NaN]);
    expect([...(await st.tensor('e5m2'))]).toEqual([1, Infinity, 2 ** -16]);
    expect([...(await st.raw('u8'))]).toEqual([0, 128, 255]);
    await expect(st.tensor('f4')).rejects.toMatchObject({ code: 'E_SAFETENSORS_TENSOR' });
  });

  it('keys tensors by name without prototype lookups', async () => {
    const file = path.join(dir, 'proto.safetensors');
    await writeFile(file, rawSafetensors('{"__proto__":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', W));
    const st = await openSafetensors(file);
    expect([...(await st.tensor('__proto__'))]).toEqual([1, 2]);
    await expect(st.tensor('constructor')).rejects.toMatchObject({ code: 'E_SAFETENSORS_TENSOR' });
    await expect(st.tensor('toString')).rejects.toMatchObject({ code: 'E_SAFETENSORS_TENSOR' });
  });

  it('throws a UserError naming the file and the rule for an invalid file', async () => {
    const file = path.join(dir, 'gap.safetensors');
    await writeFile(file, rawSafetensors(hdr({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }), W));
    const err = await openSafetensors(file).catch((e: unknown) => e);
    expect(isUserError(err)).toBe(true);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toContain('safetensors.gap');
    expect((err as Error).message).not.toContain('\n');
  });

  it('refuses to read from a file that changed after validation', async () => {
    const file = path.join(dir, 'shrink.safetensors');
    await writeFile(file, safetensors([{ name: 'w', dtype: 'F32', shape: [2], data: W }]));
    const st = await openSafetensors(file);
    await truncate(file, 12);
    await expect(st.tensor('w')).rejects.toMatchObject({ code: 'E_SAFETENSORS_TENSOR' });
  });

  it('refuses tensors over the read cap', async () => {
    const file = path.join(dir, 'cap.safetensors');
    await writeFile(file, safetensors([{ name: 'w', dtype: 'F32', shape: [2], data: W }]));
    const st = await openSafetensors(file, { maxTensorBytes: 4 });
    await expect(st.raw('w')).rejects.toThrow(/read cap/);
  });

  it('reads a tensor whose data follows a misaligned one', async () => {
    const file = path.join(dir, 'mis.safetensors');
    await writeFile(
      file,
      safetensors([
        { name: 'a', dtype: 'U8', shape: [3], data: Uint8Array.of(1, 2, 3) },
        { name: 'b', dtype: 'F32', shape: [2], data: concat(f32(7, 8)) },
      ]),
    );
    const st = await openSafetensors(file);
    expect([...(await st.tensor('b'))]).toEqual([7, 8]);
  });
});
