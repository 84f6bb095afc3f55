/**
 * The hostile corpus: small files that each break one rule, plus benign controls. The committed
 * copies under test/fixtures/hostile/ are produced from this list by scripts/make-hostile-corpus.ts,
 * and test/provenance/hostile-corpus.test.ts checks both that they are up to date and that each
 * yields its finding ids.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import type { Severity } from '../../../src/formats/finding.js';
import { concat, f32, pickle, pk, rawSafetensors, safetensors, zip } from './build.js';
import { DIM, VOCAB, cleanLm, customDomainGraph, externalDataGraph, oversizeGraph, shadowLogicIf, shadowLogicLm } from './onnx-graphs.js';

export interface HostileCase {
  /** Relative to the corpus folder. */
  path: string;
  bytes: () => Uint8Array;
  /** Which scanner the test runs on it; `index` runs on the file's folder, `onnx` audits the graph with its folder as the model folder. */
  check: 'safetensors' | 'pickle' | 'index' | 'onnx' | 'none';
  /** Finding ids that must be reported. */
  expect: string[];
  /** For benign controls: no finding may be worse than this. */
  worstAllowed?: Severity;
  why: string;
}

const W = f32(1, 2);
const entry = (dtype: string, shape: number[], begin: number, end: number): Record<string, unknown> => ({ dtype, shape, data_offsets: [begin, end] });
const header = (h: Record<string, unknown>): string => JSON.stringify(h);

/** `os.system("echo pwned")` written the way protocol 0 does it. */
export const OS_SYSTEM_P0 = concat("cos\nsystem\n(S'echo pwned'\ntR.");

/** The same call in protocol 4 through STACK_GLOBAL, with both names taken from memo slots. */
export function osSystemP4Memo(): Uint8Array {
  const body = pickle(
    pk.str('os'),
    pk.memoize(),
    pk.str('system'),
    pk.memoize(),
    pk.pop(),
    pk.pop(),
    pk.binget(0),
    pk.binget(1),
    pk.stackGlobal(),
    pk.memoize(),
    pk.str('echo pwned'),
    pk.memoize(),
    pk.tuple1(),
    pk.memoize(),
    pk.reduce(),
    pk.memoize(),
    pk.stop(),
  );
  return pickle(pk.proto(4), pk.frame(body.length), body);
}

/** A protocol-2 state dict like torch.save's data.pkl: OrderedDict of one tensor rebuilt from a persistent storage. */
export function benignTorchPickle(): Uint8Array {
  return pickle(
    pk.proto(2),
    pk.global('collections', 'OrderedDict'),
    pk.binput(0),
    pk.emptyTuple(),
    pk.reduce(),
    pk.binput(1),
    pk.binunicode('weight'),
    pk.binput(2),
    pk.global('torch._utils', '_rebuild_tensor_v2'),
    pk.binput(3),
    pk.mark(),
    pk.mark(),
    pk.binunicode('storage'),
    pk.global('torch', 'FloatStorage'),
    pk.binunicode('0'),
    pk.binunicode('cpu'),
    pk.binint1(4),
    pk.tuple(),
    pk.binpersid(),
    pk.binint1(0),
    pk.binint1(2),
    pk.binint1(2),
    pk.tuple2(),
    pk.binint1(2),
    pk.binint1(1),
    pk.tuple2(),
    pk.newfalse(),
    pk.binget(0),
    pk.emptyTuple(),
    pk.reduce(),
    pk.tuple(),
    pk.reduce(),
    pk.setitem(),
    pk.stop(),
  );
}

/** What `torch.save` writes into archive/data.pkl of a malicious checkpoint (protocol 2, GLOBAL). */
export const POSIX_SYSTEM_P2 = pickle(pk.proto(2), pk.global('posix', 'system'), pk.binput(0), pk.binunicode('echo pwned'), pk.tuple1(), pk.reduce(), pk.stop());

function torchZip(dataPkl: Uint8Array, opts: { method?: 0 | 8; zip64?: boolean } = {}): Uint8Array {
  return zip(
    [
      { name: 'archive/data.pkl', data: dataPkl, method: opts.method ?? 0 },
      { name: 'archive/byteorder', data: concat('little') },
      { name: 'archive/data/0', data: f32(1, 2, 3, 4) },
      { name: 'archive/version', data: concat('3\n') },
    ],
    { zip64: opts.zip64 ?? false },
  );
}

/** `builtins.eval("__import__('os').system('echo pwned')")` in protocol 2. */
export const EVAL_P2 = pickle(pk.proto(2), pk.global('builtins', 'eval'), pk.binunicode("__import__('os').system('echo pwned')"), pk.tuple1(), pk.reduce(), pk.stop());

/** A protocol-2 pickle whose `builtins.eval` call sits after `filler` (which leaves the stack as it found it). */
export function evalAfter(...filler: Uint8Array[]): Uint8Array {
  return concat([0x80, 0x02], ...filler, EVAL_P2.subarray(2));
}

const u64 = (n: number): Uint8Array => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);
/** BINBYTES8 of `n` zero bytes, then POP: a big blob the walker must step over. */
export const binbytes8 = (n: number): Uint8Array => concat([0x8e], u64(n), new Uint8Array(n), [0x30]);
const MIB = 1024 * 1024;

/**
 * Hostile files too large to commit (issue 11, class 1): each hides `builtins.eval` past one of
 * the pickle scanner's caps. Tests write them to a temporary folder.
 */
export const LARGE_LIMIT_CASES: { name: string; why: string; bytes: () => Uint8Array }[] = [
  { name: 'junk-opcodes.pkl', why: '20M junk opcodes (NONE, POP) before the payload: past the opcode cap', bytes: () => evalAfter(new Uint8Array(20_000_002).fill(0x4e).map((v, i) => (i % 2 ? 0x30 : v))) },
  { name: 'binbytes8.pkl', why: 'a 70 MiB BINBYTES8 before the payload: past the 64 MiB scan window', bytes: () => evalAfter(binbytes8(70 * MIB)) },
  { name: 'mark-flood.pkl', why: 'a million MARKs before the payload: past the stack cap', bytes: () => evalAfter(new Uint8Array(1_000_001).fill(0x28), new Uint8Array(1_000_001).fill(0x31)) },
  {
    name: 'many-entries.pt',
    why: 'a torch archive with 200,001 entries: past the entry cap',
    bytes: () => zip([{ name: 'archive/data.pkl', data: EVAL_P2 }, ...Array.from({ length: 200_000 }, (_, i) => ({ name: `archive/data/${i}`, data: new Uint8Array(0) }))], { zip64: true }),
  },
];

/** An .npy header (format 1.0) for `descr`, padded to 64 bytes as numpy writes it. */
export function npyHeader(descr: string, shape = '(1,)'): Uint8Array {
  let h = `{'descr': ${descr}, 'fortran_order': False, 'shape': ${shape}, }`;
  const total = Math.ceil((10 + h.length + 1) / 64) * 64;
  h = h.padEnd(total - 10 - 1, ' ') + '\n';
  return concat([0x93], 'NUMPY', [1, 0], new Uint8Array(Uint16Array.of(h.length).buffer), h);
}

/** A torch archive the way torch.save writes it: flag bit 3 (data descriptors) with zero local sizes. */
function torchStyleZip(dataPkl: Uint8Array): Uint8Array {
  return zip(
    [
      { name: 'archive/data.pkl', data: dataPkl, descriptor: true },
      { name: 'archive/data/0', data: f32(1, 2, 3, 4), descriptor: true },
      { name: 'archive/version', data: concat('3\n'), descriptor: true },
    ],
  );
}

/** Pre-1.6 torch.save: magic, protocol, sys_info, the state dict, storage keys, then raw storage bytes. */
export function legacyTorchBin(): Uint8Array {
  return concat(
    [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e],
    pickle(pk.proto(2), [0x4d, 0xe9, 0x03], pk.stop()),
    pickle(pk.proto(2), pk.emptyDict(), pk.binput(0), pk.binunicode('protocol_version'), [0x4d, 0xe9, 0x03], pk.setitem(), pk.stop()),
    benignTorchPickle(),
    pickle(pk.proto(2), pk.emptyList(), pk.binput(0), pk.binunicode('0'), [0x61], pk.stop()),
    // Raw storage: an 8-byte element count then the floats; these bytes are never pickle data,
    // even when they happen to spell an import.
    new Uint8Array(new BigUint64Array([4n]).buffer),
    concat('cos\nsystem\n(tR.', [0, 0, 0]),
  );
}

export const HOSTILE_CASES: HostileCase[] = [
  // ---- safetensors
  {
    path: 'safetensors/truncated.safetensors',
    bytes: () => rawSafetensors(header({ w: entry('F32', [2], 0, 8) }), W, 4096n),
    check: 'safetensors',
    expect: ['safetensors.header-out-of-bounds'],
    why: 'header length larger than the file',
  },
  {
    path: 'safetensors/oversized-header.safetensors',
    bytes: () => rawSafetensors(header({ w: entry('F32', [2], 0, 8) }), W, 1n << 40n),
    check: 'safetensors',
    expect: ['safetensors.header-too-large'],
    why: 'a 1 TiB header length must be refused before allocating',
  },
  {
    path: 'safetensors/overlap.safetensors',
    bytes: () => rawSafetensors(header({ a: entry('F32', [2], 0, 8), b: entry('F32', [2], 4, 12) }), f32(1, 2, 3)),
    check: 'safetensors',
    expect: ['safetensors.overlap'],
    why: 'two tensors alias the same bytes',
  },
  {
    path: 'safetensors/gap.safetensors',
    bytes: () => rawSafetensors(header({ a: entry('F32', [2], 0, 8), b: entry('F32', [2], 16, 24) }), concat(W, 'PAYLOAD!', W)),
    check: 'safetensors',
    expect: ['safetensors.gap'],
    why: 'unaccounted bytes between tensors (polyglot room)',
  },
  {
    path: 'safetensors/trailing-bytes.safetensors',
    bytes: () => concat(safetensors([{ name: 'w', dtype: 'F32', shape: [2], data: W }]), 'PK\x03\x04 appended archive'),
    check: 'safetensors',
    expect: ['safetensors.trailing-bytes'],
    why: 'bytes after the last tensor',
  },
  {
    path: 'safetensors/duplicate-key.safetensors',
    bytes: () => rawSafetensors('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}', W),
    check: 'safetensors',
    expect: ['safetensors.duplicate-key'],
    why: 'JSON.parse keeps the last duplicate; other readers keep the first',
  },
  {
    path: 'safetensors/proto-key.safetensors',
    bytes: () => rawSafetensors('{"__proto__":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', W),
    check: 'safetensors',
    expect: ['safetensors.suspicious-name'],
    why: 'a tensor named __proto__ pollutes prototypes in naive readers',
  },
  {
    path: 'safetensors/wrong-byte-count.safetensors',
    bytes: () => rawSafetensors(header({ w: entry('F32', [3], 0, 8) }), W),
    check: 'safetensors',
    expect: ['safetensors.byte-count-mismatch'],
    why: 'F32[3] needs 12 bytes, offsets give 8',
  },
  {
    path: 'safetensors/bad-utf8.safetensors',
    bytes: () => rawSafetensors(concat('{"w\xff":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'), W),
    check: 'safetensors',
    expect: ['safetensors.header-not-utf8'],
    why: 'invalid UTF-8 in the header',
  },
  {
    path: 'safetensors/unknown-dtype.safetensors',
    bytes: () => rawSafetensors(header({ w: entry('F128', [1], 0, 8) }), W),
    check: 'safetensors',
    expect: ['safetensors.unknown-dtype'],
    why: 'a dtype the reference does not know',
  },
  {
    path: 'safetensors/extra-entry-key.safetensors',
    bytes: () => rawSafetensors(header({ w: { ...entry('F32', [2], 0, 8), data_path: '/etc/passwd' } }), W),
    check: 'safetensors',
    expect: ['safetensors.bad-entry'],
    why: 'entries have exactly dtype, shape, data_offsets',
  },
  {
    path: 'safetensors/float-offsets.safetensors',
    bytes: () => rawSafetensors('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}', W),
    check: 'safetensors',
    expect: ['safetensors.bad-offsets'],
    why: 'offsets must be written as integers',
  },
  {
    path: 'safetensors/bad-metadata.safetensors',
    bytes: () => rawSafetensors(header({ __metadata__: { format: 'pt', n: 3 }, w: entry('F32', [2], 0, 8) }), W),
    check: 'safetensors',
    expect: ['safetensors.bad-metadata'],
    why: '__metadata__ is string to string only',
  },
  {
    path: 'safetensors/not-json.safetensors',
    bytes: () => rawSafetensors('{"w":{"dtype":"F32",', W),
    check: 'safetensors',
    expect: ['safetensors.header-not-json'],
    why: 'header cut in the middle',
  },
  {
    path: 'safetensors/benign.safetensors',
    bytes: () => safetensors([{ name: 'w', dtype: 'F32', shape: [2], data: W }, { name: 'b', dtype: 'F32', shape: [], data: f32(0.5) }], { format: 'pt' }),
    check: 'safetensors',
    expect: [],
    worstAllowed: 'info',
    why: 'control',
  },
  // ---- safetensors index
  {
    path: 'index-traversal/model.safetensors.index.json',
    bytes: () =>
      concat(
        JSON.stringify({
          metadata: { total_size: 8 },
          weight_map: { a: '../safetensors/benign.safetensors', b: '/etc/passwd', c: 'model-00001-of-00002.safetensors', d: 'model-00002-of-00002.safetensors' },
        }),
      ),
    check: 'index',
    expect: ['safetensors-index.unsafe-shard-name', 'safetensors-index.missing-shard'],
    why: 'shard names must be plain file names inside the folder, and must exist',
  },
  {
    path: 'index-traversal/model-00001-of-00002.safetensors',
    bytes: () => safetensors([{ name: 'c', dtype: 'F32', shape: [2], data: W }]),
    check: 'safetensors',
    expect: [],
    worstAllowed: 'info',
    why: 'the one legitimate shard of the index above',
  },
  // ---- pickles
  {
    path: 'pickle/os-system-p0.pkl',
    bytes: () => OS_SYSTEM_P0,
    check: 'pickle',
    expect: ['pickle.dangerous-global'],
    why: 'protocol 0 GLOBAL os.system',
  },
  {
    path: 'pickle/os-system-p4-memo.pkl',
    bytes: osSystemP4Memo,
    check: 'pickle',
    expect: ['pickle.dangerous-global'],
    why: 'protocol 4 STACK_GLOBAL whose operands come from the memo',
  },
  {
    path: 'pickle/unresolved-stack-global.pkl',
    bytes: () => pickle(pk.proto(4), pk.emptyList(), pk.memoize(), pk.str('system'), pk.binget(0), pk.pop(), pk.stackGlobal(), pk.stop()),
    check: 'pickle',
    expect: ['pickle.unresolved-global'],
    why: 'STACK_GLOBAL operands that are not literal strings',
  },
  {
    path: 'pickle/truncated.pkl',
    bytes: () => concat("cos\nsystem\n(S'echo pw"),
    check: 'pickle',
    expect: ['pickle.truncated', 'pickle.dangerous-global'],
    why: 'a cut-off pickle still reports the imports before the cut',
  },
  {
    path: 'pickle/unknown-opcode.pkl',
    bytes: () => pickle(pk.proto(2), pk.global('builtins', 'eval'), [0xff], pk.stop()),
    check: 'pickle',
    expect: ['pickle.malformed', 'pickle.dangerous-global'],
    why: 'the unpickler runs everything before the bad opcode',
  },
  {
    path: 'pickle/unknown-global.pkl',
    bytes: () => pickle(pk.proto(2), pk.global('sklearn.linear_model', 'LogisticRegression'), pk.emptyTuple(), pk.reduce(), pk.stop()),
    check: 'pickle',
    expect: ['pickle.unknown-global'],
    why: 'not on the allow-list, not known dangerous',
  },
  {
    path: 'pickle/benign-torch.pkl',
    bytes: benignTorchPickle,
    check: 'pickle',
    expect: [],
    worstAllowed: 'info',
    why: 'control: a torch-like state dict',
  },
  {
    path: 'pickle/legacy-torch.bin',
    bytes: legacyTorchBin,
    check: 'pickle',
    expect: [],
    worstAllowed: 'info',
    why: 'control: legacy torch.save; storage bytes after the fifth pickle are not scanned',
  },
  {
    path: 'pickle/malicious-torch.pt',
    bytes: () => torchZip(POSIX_SYSTEM_P2),
    check: 'pickle',
    expect: ['pickle.dangerous-global'],
    why: 'zip-wrapped torch file whose data.pkl calls posix.system',
  },
  {
    path: 'pickle/malicious-deflated.pt',
    bytes: () => torchZip(POSIX_SYSTEM_P2, { method: 8 }),
    check: 'pickle',
    expect: ['pickle.dangerous-global'],
    why: 'the same with a deflated data.pkl',
  },
  {
    path: 'pickle/benign-torch-zip64.pt',
    bytes: () => torchZip(benignTorchPickle(), { zip64: true }),
    check: 'pickle',
    expect: [],
    worstAllowed: 'info',
    why: 'control: ZIP64 records as large torch files have them',
  },
  {
    path: 'pickle/zip-name-mismatch.pt',
    bytes: () => zip([{ name: 'archive/data.pkl', localName: 'archive/data.pkX', data: POSIX_SYSTEM_P2 }]),
    check: 'pickle',
    expect: ['archive.inconsistent'],
    why: 'central directory and local header disagree on the name',
  },
  // ---- scan limits fail closed (issue 11, class 1; the large cases are LARGE_LIMIT_CASES)
  {
    path: 'limits/inflates-past-cap.pt',
    bytes: () => zip([{ name: 'archive/data.pkl', data: evalAfter(binbytes8(65 * MIB)), method: 8 }]),
    check: 'pickle',
    expect: ['archive.unverifiable'],
    why: 'a deflated data.pkl of 65 MiB (honestly declared) whose eval sits past the 64 MiB cap',
  },
  {
    path: 'limits/inflate-bomb.pt',
    bytes: () => zip([{ name: 'archive/data.pkl', data: evalAfter(binbytes8(65 * MIB)), method: 8, declaredSize: 1000 }]),
    check: 'pickle',
    expect: ['archive.inconsistent'],
    why: 'the same entry declaring 1000 bytes: it inflates past the cap (a zip bomb)',
  },
  {
    path: 'limits/many-pickles.pkl',
    bytes: () => concat(...Array.from({ length: 16 }, () => benignTorchPickle()), EVAL_P2),
    check: 'pickle',
    expect: ['pickle.scan-limit'],
    why: 'sixteen benign pickles, then a seventeenth that calls eval: past the pickle-count cap',
  },
  {
    path: 'limits/marks-under-cap.pkl',
    bytes: () => evalAfter(new Uint8Array(4096).fill(0x28), new Uint8Array(4096).fill(0x31)),
    check: 'pickle',
    expect: ['pickle.dangerous-global'],
    why: 'MARKs under the stack cap are walked through: the eval after them is found (the flood is in LARGE_LIMIT_CASES)',
  },
  // ---- archives and pickles recognised by their bytes, not their names (issue 11, class 2)
  {
    path: 'by-bytes/checkpoint.zip',
    bytes: () => torchZip(EVAL_P2),
    check: 'pickle',
    expect: ['pickle.dangerous-global'],
    why: 'a torch archive named .zip whose data.pkl calls builtins.eval',
  },
  {
    path: 'by-bytes/model.weights',
    bytes: () => EVAL_P2,
    check: 'pickle',
    expect: ['pickle.dangerous-global'],
    why: 'a protocol-2 pickle under a name no loader list has',
  },
  {
    path: 'by-bytes/tokenizer.data',
    bytes: () => OS_SYSTEM_P0,
    check: 'pickle',
    expect: ['pickle.dangerous-global'],
    why: 'a headerless protocol-0 pickle: os.system',
  },
  {
    path: 'by-bytes/weights.npy',
    bytes: () => concat(npyHeader("'|O'"), EVAL_P2),
    check: 'pickle',
    expect: ['numpy.object-array', 'pickle.dangerous-global'],
    why: 'an object-dtype .npy: numpy.load(allow_pickle=True) unpickles its data',
  },
  {
    path: 'by-bytes/arrays.npz',
    bytes: () => zip([{ name: 'a.npy', data: concat(npyHeader("[('x', '<i4'), ('y', '|O')]"), EVAL_P2), method: 8 }]),
    check: 'pickle',
    expect: ['numpy.object-array', 'pickle.dangerous-global'],
    why: 'an .npz whose structured dtype has an object field',
  },
  {
    path: 'by-bytes/nested.zip',
    bytes: () => zip([{ name: 'inner/model.bin', data: zip([{ name: 'deeper.pt', data: torchZip(EVAL_P2) }]) }]),
    check: 'pickle',
    expect: ['pickle.dangerous-global'],
    why: 'a torch archive inside a ZIP inside a ZIP',
  },
  {
    path: 'by-bytes/too-deep.zip',
    bytes: () => zip([{ name: 'a.zip', data: zip([{ name: 'b.zip', data: zip([{ name: 'c.zip', data: torchZip(EVAL_P2) }]) }]) }]),
    check: 'pickle',
    expect: ['archive.unverifiable'],
    why: 'ZIPs nested past the opening depth',
  },
  {
    path: 'by-bytes/polyglot.bin',
    bytes: () => zip([{ name: 'archive/data.pkl', data: EVAL_P2 }], { prefix: benignTorchPickle() }),
    check: 'pickle',
    expect: ['archive.polyglot', 'pickle.dangerous-global'],
    why: 'a benign pickle for pickle.load and a ZIP for zip readers in one file',
  },
  {
    path: 'by-bytes/weights.7z',
    bytes: () => concat([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0x00, 0x04], new Uint8Array(24)),
    check: 'pickle',
    expect: ['archive.unverifiable'],
    why: 'a 7z archive: its contents cannot be checked',
  },
  {
    path: 'by-bytes/model.pt.gz',
    bytes: () => gzipSync(EVAL_P2),
    check: 'pickle',
    expect: ['archive.unverifiable'],
    why: 'a gzip-compressed pickle (joblib and torch users do this)',
  },
  {
    path: 'by-bytes/encrypted.pt',
    bytes: () => zip([{ name: 'archive/data.pkl', data: EVAL_P2, flags: 0x801 }]),
    check: 'pickle',
    expect: ['archive.unverifiable'],
    why: 'general-purpose flag 0x1: an encrypted entry',
  },
  {
    path: 'by-bytes/strong-encryption.pt',
    bytes: () => zip([{ name: 'archive/data.pkl', data: EVAL_P2, flags: 0x841 }]),
    check: 'pickle',
    expect: ['archive.unverifiable'],
    why: 'general-purpose flag 0x40: strong encryption',
  },
  {
    path: 'by-bytes/patched.pt',
    bytes: () => zip([{ name: 'archive/data.pkl', data: EVAL_P2, flags: 0x820 }]),
    check: 'pickle',
    expect: ['archive.unverifiable'],
    why: 'general-purpose flag 0x20: compressed patched data',
  },
  {
    path: 'by-bytes/local-flags.pt',
    bytes: () => zip([{ name: 'archive/data.pkl', data: EVAL_P2, localFlags: 0x801 }]),
    check: 'pickle',
    expect: ['archive.inconsistent'],
    why: 'the local header says encrypted, the central directory does not',
  },
  {
    path: 'by-bytes/local-method.pt',
    bytes: () => zip([{ name: 'archive/data.pkl', data: EVAL_P2, localMethod: 8 }]),
    check: 'pickle',
    expect: ['archive.inconsistent'],
    why: 'the local header says deflate, the central directory stored',
  },
  {
    path: 'by-bytes/local-size.pt',
    bytes: () => zip([{ name: 'archive/data.pkl', data: EVAL_P2, localSize: 12 }]),
    check: 'pickle',
    expect: ['archive.inconsistent'],
    why: 'the local header gives another size than the central directory',
  },
  {
    path: 'by-bytes/lying-size.pt',
    bytes: () => zip([{ name: 'archive/data.pkl', data: concat(benignTorchPickle(), new Uint8Array(4096)), method: 8, declaredSize: benignTorchPickle().length }]),
    check: 'pickle',
    expect: ['archive.inconsistent'],
    why: 'a deflated entry that inflates to more than it declares (a zip bomb lies the same way)',
  },
  {
    path: 'by-bytes/bad-crc.pt',
    bytes: () => zip([{ name: 'archive/data.pkl', data: EVAL_P2, declaredCrc: 0x12345678 }]),
    check: 'pickle',
    expect: ['archive.inconsistent'],
    why: 'the CRC does not match the data: readers that check it and readers that do not disagree',
  },
  {
    path: 'by-bytes/overlap.zip',
    bytes: () => zip([{ name: 'archive/data.pkl', data: benignTorchPickle() }, { name: 'archive/data.pkl', data: benignTorchPickle(), aliasOf: 0 }]),
    check: 'pickle',
    expect: ['archive.inconsistent'],
    why: 'two directory entries over the same bytes (the overlapping-entry zip bomb)',
  },
  // ---- exact-callable allow-list (issue 11, class 3)
  {
    path: 'allow-list/inductor.pkl',
    bytes: () => pickle(pk.proto(2), pk.global('torch._inductor.codecache', 'compile_file'), pk.mark(), pk.tuple(), pk.reduce(), pk.stop()),
    check: 'pickle',
    expect: ['pickle.dangerous-global'],
    why: 'torch._inductor.codecache.compile_file runs a compiler command; torch is not trusted as a whole',
  },
  {
    path: 'allow-list/nested-load.pkl',
    bytes: () => pickle(pk.proto(4), pk.str('torch'), pk.str('serialization.load'), pk.stackGlobal(), pk.str('x.pt'), pk.tuple1(), pk.reduce(), pk.stop()),
    check: 'pickle',
    expect: ['pickle.dangerous-global'],
    why: 'torch.serialization.load through STACK_GLOBAL with a dotted name: a pickle loading another',
  },
  {
    path: 'allow-list/torch-module.pkl',
    bytes: () => pickle(pk.proto(2), pk.global('torch.nn.modules.linear', 'Linear'), pk.emptyTuple(), pk.reduce(), pk.stop()),
    check: 'pickle',
    expect: ['pickle.unknown-global'],
    why: 'a whole nn.Module: not a callable a weights file needs, so the file is refused',
  },
  // ---- controls for the classes above: every file here must pass
  {
    path: 'by-bytes-clean/torch-style.pt',
    bytes: () => torchStyleZip(benignTorchPickle()),
    check: 'pickle',
    expect: [],
    worstAllowed: 'info',
    why: 'control: data descriptors and zero local sizes, as torch.save writes them',
  },
  {
    path: 'by-bytes-clean/numbers.npy',
    bytes: () => concat(npyHeader("'<f4'", '(2,)'), f32(1, 2)),
    check: 'pickle',
    expect: [],
    worstAllowed: 'info',
    why: 'control: a plain float array',
  },
  {
    path: 'by-bytes-clean/external-data.bin',
    bytes: () => concat([0x93, 0x8c, 0x02, 0x63, 0x93, 0x95], new Uint8Array(64).fill(0x93), f32(1, 2, 3)),
    check: 'pickle',
    expect: [],
    worstAllowed: 'info',
    why: 'control: data that starts with pickle opcode bytes is "not a pickle", not an unresolved import',
  },
  // ---- ONNX graphs (each in its own folder, which is the model folder for `verify`)
  {
    path: 'onnx/external-traversal/model.onnx',
    bytes: () => externalDataGraph([['location', '../../etc/passwd']]),
    check: 'onnx',
    expect: ['onnx.external-data-escape'],
    why: 'external data location climbs out of the model folder (CVE-2022-25882)',
  },
  {
    path: 'onnx/external-absolute/model.onnx',
    bytes: () => externalDataGraph([['location', '/etc/passwd'], ['offset', '0'], ['length', '64']]),
    check: 'onnx',
    expect: ['onnx.external-data-escape'],
    why: 'absolute external data location',
  },
  {
    path: 'onnx/external-out-of-bounds/model.onnx',
    bytes: () => externalDataGraph([['location', 'weights.bin'], ['offset', '4096'], ['length', String(DIM * VOCAB * 4)]]),
    check: 'onnx',
    expect: ['onnx.external-data-out-of-bounds'],
    why: 'offset past the end of the data file',
  },
  {
    path: 'onnx/external-out-of-bounds/weights.bin',
    bytes: () => new Uint8Array(DIM * VOCAB * 4),
    check: 'none',
    expect: [],
    why: 'the data file the graph above points past',
  },
  {
    path: 'onnx/external-negative-offset/model.onnx',
    bytes: () => externalDataGraph([['location', 'weights.bin'], ['offset', '-4096']]),
    check: 'onnx',
    expect: ['onnx.external-data-bad-number'],
    why: 'negative external data offset (GHSA-538c-55jv-c5g9)',
  },
  {
    path: 'onnx/external-negative-offset/weights.bin',
    bytes: () => new Uint8Array(DIM * VOCAB * 4),
    check: 'none',
    expect: [],
    why: 'the data file of the graph above',
  },
  {
    path: 'onnx/ort-mem-addr/model.onnx',
    bytes: () => externalDataGraph([['location', '*/_ORT_MEM_ADDR_/*'], ['offset', '140737488355328'], ['length', String(DIM * VOCAB * 4)]]),
    check: 'onnx',
    expect: ['onnx.ort-mem-addr'],
    why: "ONNX Runtime's in-memory tag: the offset would be used as a raw pointer",
  },
  {
    path: 'onnx/shadowlogic/model.onnx',
    bytes: shadowLogicLm,
    check: 'onnx',
    expect: ['onnx.input-conditioned-branch'],
    why: 'Equal(input_ids, trigger) -> ReduceMax -> Where(cond, hacked_logits, logits)',
  },
  {
    path: 'onnx/shadowlogic-if/model.onnx',
    bytes: shadowLogicIf,
    check: 'onnx',
    expect: ['onnx.input-conditioned-branch'],
    why: 'the trigger condition drives an If whose branch flips the logits',
  },
  {
    path: 'onnx/custom-domain/model.onnx',
    bytes: customDomainGraph,
    check: 'onnx',
    expect: ['onnx.unknown-domain'],
    why: 'an operator only a host-registered shared library implements',
  },
  {
    path: 'onnx/oversize/model.onnx',
    bytes: oversizeGraph,
    check: 'onnx',
    expect: ['onnx.oversize-constant-shape', 'onnx.tensor-size-mismatch'],
    why: 'a 2^34-element ConstantOfShape and an initializer whose dims its data does not back',
  },
  {
    path: 'onnx/clean/model.onnx',
    bytes: cleanLm,
    check: 'onnx',
    expect: [],
    worstAllowed: 'info',
    why: 'control: attention-mask Equal/Where/Mul, Range causal mask, use_cache_branch If',
  },
];

export async function writeHostileCorpus(outDir: string): Promise<string[]> {
  const written: string[] = [];
  for (const c of HOSTILE_CASES) {
    const p = path.join(outDir, ...c.path.split('/'));
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, c.bytes());
    written.push(c.path);
  }
  return written;
}
