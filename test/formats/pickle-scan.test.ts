import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource } from '../../src/formats/byte-source.js';
import { classifyGlobal } from '../../src/formats/pickle-policy.js';
import { scanPickleBytes, scanPickleFile } from '../../src/formats/pickle-scan.js';
import { walkPickle } from '../../src/formats/pickle-walk.js';
import { parseNpyHeader } from '../../src/formats/npy.js';
import { FIXTURES } from '../helpers/paths.js';
import { readZipDirectory, readZipEntry } from '../../src/formats/zip-reader.js';
import { concat, f32, pickle, pk, safetensors, zip } from '../provenance/helpers/build.js';
import { OS_SYSTEM_P0, POSIX_SYSTEM_P2, benignTorchPickle, legacyTorchBin, npyHeader, osSystemP4Memo } from '../provenance/helpers/hostile-corpus.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ts-pkl-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const globals = (b: Uint8Array): string[] => walkPickle(b).globals.map((g) => `${g.opcode} ${g.module}.${g.name}`);
const ids = (r: { findings: { id: string }[] }): string[] => [...new Set(r.findings.map((f) => f.id))].sort();

describe('walkPickle', () => {
  it('lists GLOBAL imports in protocol 0', () => {
    expect(globals(OS_SYSTEM_P0)).toEqual(['GLOBAL os.system']);
  });

  it('resolves STACK_GLOBAL through MEMOIZE and BINGET', () => {
    const r = walkPickle(osSystemP4Memo());
    expect(r.globals.map((g) => [g.opcode, g.module, g.name])).toEqual([['STACK_GLOBAL', 'os', 'system']]);
    expect(r.protocol).toBe(4);
    expect(r.problems).toEqual([]);
    expect(r.pickles).toBe(1);
  });

  it('resolves STACK_GLOBAL through PUT/GET, LONG_BINGET, BINPUT and DUP', () => {
    const viaText = pickle(pk.proto(4), pk.str('subprocess'), pk.put(7), pk.pop(), pk.str('Popen'), pk.binput(9), pk.pop(), pk.get(7), pk.binget(9), pk.stackGlobal(), pk.stop());
    expect(globals(viaText)).toEqual(['STACK_GLOBAL subprocess.Popen']);
    const viaLong = pickle(pk.proto(4), pk.str('builtins'), pk.memoize(), pk.str('exec'), pk.memoize(), pk.pop(), pk.pop(), pk.longBinget(0), pk.longBinget(1), pk.stackGlobal(), pk.stop());
    expect(globals(viaLong)).toEqual(['STACK_GLOBAL builtins.exec']);
    const viaDup = pickle(pk.proto(4), pk.str('nt'), pk.str('system'), [0x32], pk.pop(), pk.stackGlobal(), pk.stop());
    expect(globals(viaDup)).toEqual(['STACK_GLOBAL nt.system']);
  });

  it('reads PUT/GET indices as Python int() does, so a "1_0" index does not end the scan', () => {
    // int('1_0') == 10 and int(' +10 ') == 10 in Python: the unpickler keeps going, and so must we.
    const b = concat('(lp1_0\n0g +10 \n0', OS_SYSTEM_P0);
    const r = walkPickle(b);
    expect(r.problems).toEqual([]);
    expect(globals(b)).toEqual(['GLOBAL os.system']);
    expect(walkPickle(concat('(lp-1\n0', OS_SYSTEM_P0)).problems.map((p) => p.kind)).toEqual(['malformed']);
  });

  it('reports its own caps as limits, not as malformed input', () => {
    const marks = concat([0x80, 0x02], new Uint8Array(50).fill(0x28), OS_SYSTEM_P0);
    expect(walkPickle(marks, { maxStack: 10 }).problems.map((p) => p.kind)).toEqual(['limit']);
    const many = concat(...Array.from({ length: 3 }, () => benignTorchPickle()), POSIX_SYSTEM_P2);
    const w = walkPickle(many, { maxPickles: 3 });
    expect(w.problems.map((p) => p.kind)).toEqual(['limit']);
    expect(walkPickle(many, { maxPickles: 4 }).globals.some((g) => g.module === 'posix')).toBe(true);
  });

  it('takes the operands the unpickler would, not just the last two string pushes', () => {
    // 'posix' and 'system' are the operands; the decoy strings are consumed by a tuple first.
    const b = pickle(pk.proto(4), pk.str('posix'), pk.mark(), pk.str('collections'), pk.str('OrderedDict'), pk.tuple(), pk.pop(), pk.str('system'), pk.stackGlobal(), pk.stop());
    expect(globals(b)).toEqual(['STACK_GLOBAL posix.system']);
  });

  it('decodes protocol 0/1 string opcodes as operands', () => {
    const b = pickle(pk.proto(2), pk.string0('o\\x73'), pk.shortBinstring('system'), pk.stackGlobal(), pk.stop());
    expect(globals(b)).toEqual(['STACK_GLOBAL os.system']);
    const v = pickle(pk.proto(2), concat('Vbuilt\\u0069ns\n'), concat('Veval\n'), pk.stackGlobal(), pk.stop());
    expect(globals(v)).toEqual(['STACK_GLOBAL builtins.eval']);
  });

  it('marks non-literal STACK_GLOBAL operands unresolved', () => {
    const r = walkPickle(pickle(pk.proto(4), pk.global('builtins', 'str'), pk.str('os'), pk.tuple1(), pk.reduce(), pk.str('system'), pk.stackGlobal(), pk.stop()));
    expect(r.unresolved.length).toBe(1);
    const bytesOperand = walkPickle(pickle(pk.proto(4), [0x43, 2], concat('os'), pk.str('system'), pk.stackGlobal(), pk.stop()));
    expect(bytesOperand.unresolved.length).toBe(1);
  });

  it('lists INST imports and extension codes', () => {
    const r = walkPickle(pickle(pk.mark(), pk.inst('os', 'system'), [0x82, 5], pk.pop(), pk.stop()));
    expect(r.globals.map((g) => `${g.opcode} ${g.module}.${g.name}`)).toEqual(['INST os.system']);
    expect(r.extensions).toEqual([{ offset: expect.any(Number) as number, code: 5 }]);
  });

  it('reports truncation, malformed input and memo misuse while keeping earlier imports', () => {
    const t = walkPickle(concat("cos\nsystem\n(S'ec"));
    expect(t.problems.map((p) => p.kind)).toEqual(['truncated']);
    expect(t.globals.length).toBe(1);
    expect(walkPickle(pickle(pk.proto(2), [0xfe])).problems[0]?.message).toMatch(/unknown opcode 0xfe/);
    expect(walkPickle(pickle(pk.proto(2), pk.binget(3), pk.stop())).problems[0]?.message).toMatch(/memo slot 3/);
    expect(walkPickle(pickle(pk.proto(2), pk.stop())).problems[0]?.message).toMatch(/underflow/);
    expect(walkPickle(pickle(pk.proto(2), pk.tuple(), pk.stop())).problems[0]?.message).toMatch(/MARK/);
    expect(walkPickle(pickle([0x80, 9], pk.none(), pk.stop())).problems[0]?.message).toMatch(/protocol 9/);
    expect(walkPickle(pickle(pk.proto(2), [0x54, 0xff, 0xff, 0xff, 0xff], pk.stop())).problems[0]?.message).toMatch(/negative/);
  });

  it('treats running out of a partial window as a scan limit, not truncation', () => {
    expect(walkPickle(concat("cos\nsystem\n(S'ec"), { complete: false }).problems.map((p) => p.kind)).toEqual(['limit']);
  });

  it('stops at the opcode budget', () => {
    const b = pickle(pk.proto(2), pk.emptyList(), ...Array.from({ length: 100 }, () => [0x32, 0x30]), pk.stop());
    const r = walkPickle(b, { maxOpcodes: 50 });
    expect(r.problems.map((p) => p.kind)).toEqual(['limit']);
  });

  it('walks consecutive pickles, and exactly five for legacy torch files', () => {
    const two = walkPickle(concat(pickle(pk.proto(2), pk.none(), pk.stop()), POSIX_SYSTEM_P2));
    expect(two.pickles).toBe(2);
    expect(two.globals.map((g) => g.module)).toEqual(['posix']);
    const junk = walkPickle(concat(pickle(pk.proto(2), pk.none(), pk.stop()), 'cos\nsystem\n'));
    expect(junk.globals).toEqual([]);
    expect(junk.trailingBytes).toBe(11);
    const legacy = walkPickle(legacyTorchBin());
    expect(legacy.legacyTorch).toBe(true);
    expect(legacy.pickles).toBe(5);
    expect(legacy.problems).toEqual([]);
    // The storage bytes after the fifth pickle spell `cos\nsystem`, and must not be read as an import.
    expect(legacy.globals.map((g) => g.module)).toEqual(['collections', 'torch._utils', 'torch']);
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const r = walkPickle(b, { maxOpcodes: 10_000 });
        expect(r.pickles + r.problems.length).toBeGreaterThanOrEqual(b.length === 0 ? 0 : 1);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('classifyGlobal', () => {
  it.each([
    ['torch._utils', '_rebuild_tensor_v2'],
    ['torch', 'FloatStorage'],
    ['torch', 'BFloat16Storage'],
    ['collections', 'OrderedDict'],
    ['numpy.core.multiarray', '_reconstruct'],
    ['numpy', 'dtype'],
    ['__builtin__', 'set'],
    ['copy_reg', '_reconstructor'],
    ['torch', '_utils._rebuild_tensor_v2'],
  ])('allows %s.%s', (m, n) => expect(classifyGlobal(m, n).kind).toBe('safe'));

  it.each([
    ['os', 'system'],
    ['posix', 'system'],
    ['nt', 'system'],
    ['subprocess', 'Popen'],
    ['builtins', 'eval'],
    ['builtins', 'exec'],
    ['builtins', 'getattr'],
    ['builtins', '__import__'],
    ['__builtin__', 'compile'],
    ['builtins', 'open'],
    ['runpy', '_run_code'],
    ['socket', 'create_connection'],
    ['shutil', 'rmtree'],
    ['sys', 'modules'],
    ['pty', 'spawn'],
    ['webbrowser', 'open'],
    ['importlib', 'import_module'],
    ['importlib.util', 'find_spec'],
    ['os.path', 'join'],
    ['commands', 'getoutput'],
    ['torch', 'load'],
    ['torch.serialization', 'load'],
    ['torch', 'hub.load'],
    ['functools', 'partial'],
    ['operator', 'attrgetter'],
    ['collections', 'OrderedDict.__init__.__globals__'],
    ['copyreg', 'add_extension'],
  ])('flags %s.%s as dangerous', (m, n) => expect(classifyGlobal(m, n).kind).toBe('dangerous'));

  it.each([
    ['sklearn.linear_model', 'LogisticRegression'],
    ['__main__', 'Net'],
    ['argparse', 'Namespace'],
    ['ossify', 'x'],
    ['system', 'os'],
  ])('calls %s.%s unknown', (m, n) => expect(classifyGlobal(m, n).kind).toBe('unknown'));
});

describe('zip reader', () => {
  const entries = [
    { name: 'archive/data.pkl', data: POSIX_SYSTEM_P2 },
    { name: 'archive/data/0', data: f32(1, 2) },
    { name: 'archive/deflated.pkl', data: benignTorchPickle(), method: 8 as const },
  ];

  it.each([false, true])('lists entries and reads stored and deflated data (zip64: %s)', async (zip64) => {
    const src = bufferSource(zip(entries, { zip64 }));
    const d = await readZipDirectory(src);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.entries.map((e) => [e.name, e.method])).toEqual([
      ['archive/data.pkl', 0],
      ['archive/data/0', 0],
      ['archive/deflated.pkl', 8],
    ]);
    const first = await readZipEntry(src, d.entries[0] as (typeof d.entries)[0], 1 << 20);
    expect(first.ok && Buffer.from(first.data).equals(Buffer.from(POSIX_SYSTEM_P2))).toBe(true);
    const third = await readZipEntry(src, d.entries[2] as (typeof d.entries)[0], 1 << 20);
    expect(third.ok && Buffer.from(third.data).equals(Buffer.from(benignTorchPickle()))).toBe(true);
  });

  it('bounds reads: stored entries are cut, oversized inflation is refused', async () => {
    const big = new Uint8Array(100_000);
    const src = bufferSource(zip([{ name: 's.pkl', data: big }, { name: 'd.pkl', data: big, method: 8 }]));
    const d = await readZipDirectory(src);
    if (!d.ok) throw new Error(d.error);
    const s = await readZipEntry(src, d.entries[0] as (typeof d.entries)[0], 1000);
    expect(s.ok && s.data.length === 1000 && s.truncated).toBe(true);
    const z = await readZipEntry(src, d.entries[1] as (typeof d.entries)[0], 1000);
    expect(z).toMatchObject({ ok: false, problem: 'unverifiable' });
  });

  it('rejects archives whose directory points outside the file', async () => {
    const b = zip(entries);
    const view = new DataView(b.buffer);
    view.setUint32(b.length - 22 + 16, 0x7fffffff, true);
    const d = await readZipDirectory(bufferSource(b));
    expect(d.ok).toBe(false);
  });

  it('never throws on mutated archives', async () => {
    const base = zip(entries, { zip64: true });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ at: fc.nat(base.length - 1), v: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 }), async (muts) => {
        const b = Uint8Array.from(base);
        for (const m of muts) b[m.at] = m.v;
        const src = bufferSource(b);
        const d = await readZipDirectory(src);
        if (d.ok) for (const e of d.entries) await readZipEntry(src, e, 1 << 16);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('fuzzing the pickle scanner', () => {
  // Opcode bytes the unpickler knows, arguments and all, in random order: the scanner must end in
  // findings, never throw, and a dangerous import anywhere before the first malformed opcode is
  // always found.
  const ops = fc.constantFrom(
    ...[[0x28], [0x2e], [0x30], [0x31], [0x32], [0x4e], [0x5d], [0x7d], [0x29], [0x52], [0x62], [0x61], [0x73], [0x75], [0x65], [0x74], [0x85], [0x86], [0x93], [0x94], [0x71, 0], [0x68, 0], [0x4b, 7]].map((b) => Uint8Array.from(b)),
    pk.str('os') as Uint8Array,
    pk.str('system') as Uint8Array,
    concat('Vbuiltins\n'),
    concat('p1_0\n'),
    concat('g10\n'),
    pk.global('collections', 'OrderedDict') as Uint8Array,
    concat([0x8e], new Uint8Array(new BigUint64Array([3n]).buffer), 'abc'),
  );
  it('random opcode streams and mutated checkpoints end in findings, never an exception', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ops, { maxLength: 40 }), fc.boolean(), async (parts, header) => {
        const bytes = concat(...(header ? [[0x80, 0x04]] : []), ...parts);
        const r = await scanPickleBytes(bytes, 'fuzz.pkl');
        for (const f of r.findings) expect(f.message).not.toContain('\n');
      }),
      { numRuns: 1500 },
    );
    const base = zip([{ name: 'archive/data.pkl', data: POSIX_SYSTEM_P2 }, { name: 'archive/x.npy', data: concat(npyHeader("'|O'"), OS_SYSTEM_P0), method: 8 }]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ at: fc.nat(base.length - 1), v: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }), async (muts) => {
        const b = Uint8Array.from(base);
        for (const m of muts) b[m.at] = m.v;
        const r = await scanPickleBytes(b, 'fuzz.pt');
        // A damaged archive is read (the payload found) or refused at critical, never passed, unless
        // it is no longer a ZIP nor a pickle at all (nothing any loader could open).
        const critical = r.findings.some((f) => f.severity === 'critical');
        const dead = !(await readZipDirectory(bufferSource(b))).ok && r.pickles === 0;
        expect(critical || dead, JSON.stringify(r.findings)).toBe(true);
      }),
      { numRuns: 500 },
    );
    // The time budget: counts, not a clock, bound the work (a few seconds idle); this only stops a runaway.
  }, 60_000);
});

describe('scanPickleFile on real torch.save output (test/fixtures/torch, see build.py)', () => {
  it.each(['state-dict.pt', 'state-dict-legacy.bin'])('%s: every import is allow-listed, nothing is reported', async (name) => {
    const r = await scanPickleFile(path.join(FIXTURES, 'torch', name));
    expect(r.findings).toEqual([]);
    expect(r.pickles).toBe(1);
    expect(r.globals.length).toBeGreaterThan(5);
    expect(r.globals.every((g) => g.verdict === 'safe')).toBe(true);
  });
});

describe('parseNpyHeader', () => {
  it('reads the dtype of format 1.0 and 2.0 headers and spots object dtypes', () => {
    const header = npyHeader("'<f4'", '(2, 3)');
    expect(header.length % 64).toBe(0);
    expect(parseNpyHeader(header)).toMatchObject({ ok: true, version: '1.0', descr: "'<f4'", objectDtype: false, dataOffset: header.length });
    expect(parseNpyHeader(npyHeader("'|O'"))).toMatchObject({ ok: true, objectDtype: true });
    expect(parseNpyHeader(npyHeader("[('a', '<i8'), ('b', [('c', '|O')])]"))).toMatchObject({ ok: true, objectDtype: true });
    expect(parseNpyHeader(npyHeader("[('Obj', '<i8')]"))).toMatchObject({ ok: true, objectDtype: false });
    const h = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n";
    const v2 = concat([0x93], 'NUMPY', [2, 0], new Uint8Array(Uint32Array.of(h.length).buffer), h);
    expect(parseNpyHeader(v2)).toMatchObject({ ok: true, version: '2.0', objectDtype: true, dataOffset: 12 + h.length });
    expect(parseNpyHeader(v2.subarray(0, 20))).toMatchObject({ ok: false });
  });
});

describe('scanPickleFile', () => {
  async function scan(name: string, bytes: Uint8Array) {
    const p = path.join(dir, name);
    await writeFile(p, bytes);
    return scanPickleFile(p);
  }

  it('flags os.system in protocol 0 and protocol 4 as critical', async () => {
    for (const [name, b] of [
      ['p0.pkl', OS_SYSTEM_P0],
      ['p4.pkl', osSystemP4Memo()],
    ] as const) {
      const r = await scan(name, b);
      const f = r.findings.find((x) => x.id === 'pickle.dangerous-global');
      expect(f?.severity).toBe('critical');
      expect(f?.message).toContain(path.join(dir, name));
      expect(f?.detail).toMatchObject({ module: 'os', name: 'system' });
      expect(r.format).toBe('pickle');
    }
  });

  it('passes a benign torch-like pickle with its globals all allow-listed', async () => {
    const r = await scan('benign.pkl', benignTorchPickle());
    expect(r.findings).toEqual([]);
    expect(r.globals.map((g) => [`${g.module}.${g.name}`, g.verdict])).toEqual([
      ['collections.OrderedDict', 'safe'],
      ['torch._utils._rebuild_tensor_v2', 'safe'],
      ['torch.FloatStorage', 'safe'],
    ]);
  });

  it('scans every entry of a zip-wrapped torch file by its bytes and names the entry', async () => {
    const b = zip([
      { name: 'archive/data.pkl', data: benignTorchPickle() },
      { name: 'archive/constants.pkl', data: POSIX_SYSTEM_P2 },
      { name: 'archive/data/0', data: OS_SYSTEM_P0 },
    ]);
    const r = await scan('model.pt', b);
    expect(r.format).toBe('torch-zip');
    const bad = r.findings.filter((f) => f.id === 'pickle.dangerous-global');
    expect(bad.map((f) => f.detail?.['entry'])).toEqual(['archive/constants.pkl', 'archive/data/0']);
    expect(bad[0]?.message).toContain('model.pt:archive/constants.pkl');
  });

  it('reports entries it cannot decompress as unverifiable, and a directory that disagrees with the local header as inconsistent', async () => {
    const b = zip([{ name: 'archive/data.pkl', data: POSIX_SYSTEM_P2 }]);
    new DataView(b.buffer).setUint16(b.length - 22 - 46 - 'archive/data.pkl'.length + 10, 12, true); // method 12 (bzip2) in the central directory
    expect(ids(await scan('bz-cd.pt', b))).toEqual(['archive.inconsistent']);
    new DataView(b.buffer).setUint16(8, 12, true); // and in the local header
    const r = await scan('bz.pt', b);
    expect(ids(r)).toEqual(['archive.unverifiable']);
    expect(r.findings[0]?.severity).toBe('critical');
  });

  it('reports duplicate entries and archives without pickles', async () => {
    const dup = await scan('dup.pt', zip([{ name: 'a/data.pkl', data: benignTorchPickle() }, { name: 'a/data.pkl', data: POSIX_SYSTEM_P2 }]));
    expect(ids(dup)).toEqual(['pickle.dangerous-global', 'pickle.zip-duplicate-entry']);
    const none = await scan('none.pt', zip([{ name: 'readme', data: concat('hi') }]));
    expect(ids(none)).toEqual(['pickle.zip-no-pickle']);
  });

  it('reports a damaged archive instead of throwing', async () => {
    const b = zip([{ name: 'archive/data.pkl', data: POSIX_SYSTEM_P2 }]).subarray(0, 40);
    expect(ids(await scan('cut.pt', b))).toEqual(['archive.inconsistent']);
  });

  it('says when a .bin is not a pickle at all (e.g. safetensors bytes)', async () => {
    const r = await scan('weights.bin', safetensors([{ name: 'w', dtype: 'F32', shape: [1], data: f32(1) }]));
    expect(r.format).toBe('not-a-pickle');
    expect(r.findings.map((f) => [f.id, f.severity])).toEqual([['pickle.not-a-pickle', 'info']]);
  });

  it('scans only a bounded prefix of a large file', async () => {
    const r = await scan('huge.pkl', concat(pickle(pk.proto(2), pk.emptyList()), new Uint8Array(5000).fill(0x32)));
    expect(r.findings.some((f) => f.id === 'pickle.scan-limit' || f.id === 'pickle.truncated')).toBe(true);
    const p = path.join(dir, 'huge.pkl');
    const limited = await scanPickleFile(p, { maxScanBytes: 100 });
    expect(ids(limited)).toEqual(['pickle.scan-limit']);
  });

  it('refuses a FIFO without blocking on it', async () => {
    const fifo = path.join(dir, 'pipe.pt');
    execFileSync('mkfifo', [fifo]);
    expect(ids(await scanPickleFile(fifo))).toEqual(['pickle.unreadable']);
  });

  it('reports an unreadable file', async () => {
    expect(ids(await scanPickleFile(path.join(dir, 'missing.pt')))).toEqual(['pickle.unreadable']);
  });

  it('scanPickleBytes works on in-memory pickles', async () => {
    expect(ids(await scanPickleBytes(OS_SYSTEM_P0, 'mem'))).toEqual(['pickle.dangerous-global']);
  });
});
