/**
 * A static walk over pickle opcodes (protocols 0-5) that lists what a pickle would import, without
 * executing anything. Loading a pickle runs arbitrary code; this never does.
 *
 * Imports happen through GLOBAL/INST (module and name inline) and STACK_GLOBAL (module and name
 * taken from the stack). To resolve STACK_GLOBAL we model the stack symbolically: every value is
 * either a known string, "something else", or a MARK, and memo slots (PUT/BINPUT/LONG_BINPUT/
 * MEMOIZE, read back by GET/BINGET/LONG_BINGET) hold those same symbols. That follows DUP, memo
 * round-trips and intervening pushes/pops exactly as the unpickler would, instead of guessing
 * "the two previous string pushes". Operands we cannot prove to be literal strings are reported
 * as unresolved, never assumed benign.
 *
 * Work is bounded by an opcode budget and by the byte window the caller passes in.
 */

export interface PickleGlobal {
  module: string;
  name: string;
  opcode: 'GLOBAL' | 'INST' | 'STACK_GLOBAL';
  /** Byte offset of the opcode in the scanned buffer. */
  offset: number;
}

export type PickleProblemKind = 'malformed' | 'truncated' | 'limit';

export interface PickleProblem {
  kind: PickleProblemKind;
  offset: number;
  message: string;
}

export interface PickleWalkResult {
  globals: PickleGlobal[];
  /** STACK_GLOBAL whose operands are not literal strings (computed at load time: treat as hostile). */
  unresolved: { offset: number; detail: string }[];
  /** EXT1/2/4: imports through the copyreg extension registry. */
  extensions: { offset: number; code: number }[];
  problems: PickleProblem[];
  /** Pickles that reached STOP. */
  pickles: number;
  /** Highest PROTO seen. */
  protocol: number | undefined;
  /** The stream starts with torch's legacy magic-number pickle (pre-1.6 `torch.save`). */
  legacyTorch: boolean;
  opcodes: number;
  /** Bytes after the last pickle that were not walked (legacy torch storage data, appended junk). */
  trailingBytes: number;
}

export interface PickleWalkOptions {
  maxOpcodes?: number;
  /** Consecutive pickles to walk; loaders such as legacy torch.load read several from one file. */
  maxPickles?: number;
  /** Whether `bytes` is the whole stream; if not, running out is a scan limit, not truncation. */
  complete?: boolean;
  maxStack?: number;
}

const MARK: unique symbol = Symbol('mark');
const OTHER: unique symbol = Symbol('other');
type Sym = string | typeof MARK | typeof OTHER;

// Legacy torch.save writes this LONG1 pickle first (torch.serialization.MAGIC_NUMBER), then four more
// pickles, then raw storage bytes that are not pickle data.
const LEGACY_TORCH_MAGIC = Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
const LEGACY_TORCH_PICKLES = 5;
// Strings longer than this are never module names; keeping them would let a pickle pin memory.
const MAX_KEPT_STRING = 1024;

/** Opcode bytes the unpickler knows (protocols 0-5); used to tell "not a pickle" from "malformed". */
export const PICKLE_OPCODES: ReadonlySet<number> = new Set(
  [...'(.0123FIJKLMNPQRSTUVXabcdeghijlopqrstu}])G'].map((c) => c.charCodeAt(0)).concat(
    Array.from({ length: 0x98 - 0x80 + 1 }, (_, i) => 0x80 + i),
    [0x42, 0x43], // BINBYTES, SHORT_BINBYTES
  ),
);

class Stop extends Error {
  constructor(readonly problem: PickleProblem) {
    super(problem.message);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function walkPickle(bytes: Uint8Array, opts: PickleWalkOptions = {}): PickleWalkResult {
  const maxOpcodes = opts.maxOpcodes ?? 20_000_000;
  const complete = opts.complete ?? true;
  const maxStack = opts.maxStack ?? 1_000_000;
  const legacy = startsWith(bytes, LEGACY_TORCH_MAGIC);
  const maxPickles = legacy ? LEGACY_TORCH_PICKLES : (opts.maxPickles ?? 16);
  const res: PickleWalkResult = {
    globals: [],
    unresolved: [],
    extensions: [],
    problems: [],
    pickles: 0,
    protocol: undefined,
    legacyTorch: legacy,
    opcodes: 0,
    trailingBytes: 0,
  };
  const end = bytes.length;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;

  const ranOut = (at: number, what: string): never => {
    throw new Stop(
      complete
        ? { kind: 'truncated', offset: at, message: `pickle ends inside ${what} at byte ${at}` }
        : { kind: 'limit', offset: at, message: `scan window ended inside ${what} at byte ${at}` },
    );
  };
  const malformed = (at: number, message: string): never => {
    throw new Stop({ kind: 'malformed', offset: at, message });
  };
  const need = (n: number, what: string): number => {
    if (n > end - pos) ranOut(pos, what);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = (): number => bytes[need(1, 'an argument')] as number;
  const u16 = (): number => dv.getUint16(need(2, 'an argument'), true);
  const u32 = (): number => dv.getUint32(need(4, 'an argument'), true);
  const i32 = (): number => dv.getInt32(need(4, 'an argument'), true);
  const u64 = (): number => {
    const v = dv.getBigUint64(need(8, 'an argument'), true);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  };
  const line = (): Uint8Array => {
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) ranOut(pos, 'a text argument');
    const s = bytes.subarray(pos, nl);
    pos = nl + 1;
    return s;
  };
  const take = (n: number, what: string): Uint8Array => {
    const at = need(n, what);
    return bytes.subarray(at, at + n);
  };
  const utf8 = (b: Uint8Array): Sym => {
    if (b.length > MAX_KEPT_STRING) return OTHER;
    try {
      return UTF8.decode(b);
    } catch {
      return OTHER; // the unpickler would fail or produce something we cannot name: never trusted
    }
  };

  // Each pickle in the stream starts with a fresh stack and memo.
  let stack: Sym[] = [];
  let memo = new Map<number, Sym>();

  // Python's unpickler has no stack cap: ours is a scan limit, and what lies past it is unchecked.
  const limit = (at: number, message: string): never => {
    throw new Stop({ kind: 'limit', offset: at, message });
  };
  function push(v: Sym): void {
    if (stack.length >= maxStack) limit(pos, `stack deeper than ${maxStack}`);
    stack.push(v);
  }
  function pop(at: number): Sym {
    const v = stack.pop();
    if (v === undefined || v === MARK) malformed(at, 'stack underflow');
    return v as Sym;
  }
  function popMark(at: number): Sym[] {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) malformed(at, 'no MARK on the stack');
    return stack.splice(i);
  }
  function top(at: number): Sym {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) malformed(at, 'empty stack');
    return v as Sym;
  }
  function memoGet(at: number, idx: number): void {
    const v = memo.get(idx);
    if (v === undefined) malformed(at, `memo slot ${idx} read before it was written`);
    push(v as Sym);
  }
  function memoPut(at: number, idx: number): void {
    if (memo.size >= maxStack && !memo.has(idx)) limit(at, `memo larger than ${maxStack} entries`);
    memo.set(idx, top(at));
  }
  // GET and PUT take `int(line)`: Python also accepts a sign, surrounding whitespace and `1_0`.
  function decimalLine(at: number): number {
    const raw = line();
    const s = String.fromCharCode(...raw.subarray(0, 64));
    const m = raw.length <= 64 ? /^\s*([+-]?)(\d+(?:_\d+)*)\s*$/.exec(s) : null;
    if (!m) malformed(at, 'bad memo index');
    const n = Number((m as RegExpExecArray)[2]?.replace(/_/g, ''));
    if ((m as RegExpExecArray)[1] === '-' && n !== 0) malformed(at, 'negative memo index');
    return n;
  }
  function globalLines(at: number, opcode: 'GLOBAL' | 'INST'): void {
    const mod = utf8(line());
    const name = utf8(line());
    if (typeof mod !== 'string' || typeof name !== 'string') {
      res.unresolved.push({ offset: at, detail: `${opcode} with an undecodable or oversized module/name` });
    } else {
      res.globals.push({ module: mod, name, opcode, offset: at });
    }
  }

  function walkOne(): void {
    for (;;) {
      if (pos >= end) ranOut(pos, 'the opcode stream (no STOP)');
      if (++res.opcodes > maxOpcodes) limit(pos, `stopped after ${maxOpcodes} opcodes`);
      const at = pos;
      const op = bytes[pos++] as number;
      switch (op) {
        case 0x28: // MARK
          push(MARK);
          break;
        case 0x2e: // STOP
          pop(at);
          return;
        case 0x30: // POP: the unpickler pops a mark when the top of stack is one
          if (stack[stack.length - 1] === MARK) stack.pop();
          else pop(at);
          break;
        case 0x31: // POP_MARK
          popMark(at);
          break;
        case 0x32: // DUP
          push(top(at));
          break;
        case 0x46: // FLOAT
        case 0x49: // INT
        case 0x4c: // LONG
          line();
          push(OTHER);
          break;
        case 0x50: // PERSID
          line();
          push(OTHER);
          break;
        case 0x4a: // BININT
          need(4, 'BININT');
          push(OTHER);
          break;
        case 0x4b: // BININT1
          need(1, 'BININT1');
          push(OTHER);
          break;
        case 0x4d: // BININT2
          need(2, 'BININT2');
          push(OTHER);
          break;
        case 0x47: // BINFLOAT
          need(8, 'BINFLOAT');
          push(OTHER);
          break;
        case 0x4e: // NONE
        case 0x88: // NEWTRUE
        case 0x89: // NEWFALSE
        case 0x7d: // EMPTY_DICT
        case 0x5d: // EMPTY_LIST
        case 0x29: // EMPTY_TUPLE
        case 0x8f: // EMPTY_SET
          push(OTHER);
          break;
        case 0x51: // BINPERSID
        case 0x85: // TUPLE1
        case 0x98: // READONLY_BUFFER
          pop(at);
          push(OTHER);
          break;
        case 0x52: // REDUCE
        case 0x62: // BUILD
        case 0x61: // APPEND
        case 0x81: // NEWOBJ
        case 0x86: // TUPLE2
          pop(at);
          pop(at);
          push(OTHER);
          break;
        case 0x73: // SETITEM
        case 0x92: // NEWOBJ_EX
        case 0x87: // TUPLE3
          pop(at);
          pop(at);
          pop(at);
          push(OTHER);
          break;
        case 0x53: {
          // STRING: a quoted, backslash-escaped literal; Python 3 decodes it to str
          const raw = line();
          const q = raw[0];
          if (raw.length < 2 || (q !== 0x27 && q !== 0x22) || raw[raw.length - 1] !== q) malformed(at, 'STRING argument is not quoted');
          push(escapeDecode(raw.subarray(1, raw.length - 1)));
          break;
        }
        case 0x54: {
          // BINSTRING
          const n = i32();
          if (n < 0) malformed(at, 'BINSTRING with a negative length');
          push(latin1(take(n, 'BINSTRING')));
          break;
        }
        case 0x55: // SHORT_BINSTRING
          push(latin1(take(u8(), 'SHORT_BINSTRING')));
          break;
        case 0x56: // UNICODE (raw-unicode-escape)
          push(rawUnicodeEscape(line()));
          break;
        case 0x58: // BINUNICODE
          push(utf8(take(u32(), 'BINUNICODE')));
          break;
        case 0x8c: // SHORT_BINUNICODE
          push(utf8(take(u8(), 'SHORT_BINUNICODE')));
          break;
        case 0x8d: // BINUNICODE8
          push(utf8(take(u64(), 'BINUNICODE8')));
          break;
        case 0x42: // BINBYTES (bytes are never accepted as STACK_GLOBAL operands)
          take(u32(), 'BINBYTES');
          push(OTHER);
          break;
        case 0x43: // SHORT_BINBYTES
          take(u8(), 'SHORT_BINBYTES');
          push(OTHER);
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          take(u64(), 'BINBYTES8');
          push(OTHER);
          break;
        case 0x8a: // LONG1
          take(u8(), 'LONG1');
          push(OTHER);
          break;
        case 0x8b: {
          // LONG4
          const n = i32();
          if (n < 0) malformed(at, 'LONG4 with a negative length');
          take(n, 'LONG4');
          push(OTHER);
          break;
        }
        case 0x63: // GLOBAL
          globalLines(at, 'GLOBAL');
          push(OTHER);
          break;
        case 0x69: // INST
          globalLines(at, 'INST');
          popMark(at);
          push(OTHER);
          break;
        case 0x93: {
          // STACK_GLOBAL
          const name = pop(at);
          const mod = pop(at);
          if (typeof mod === 'string' && typeof name === 'string') res.globals.push({ module: mod, name, opcode: 'STACK_GLOBAL', offset: at });
          else res.unresolved.push({ offset: at, detail: 'STACK_GLOBAL operands are not literal strings' });
          push(OTHER);
          break;
        }
        case 0x82: // EXT1
          res.extensions.push({ offset: at, code: u8() });
          push(OTHER);
          break;
        case 0x83: // EXT2
          res.extensions.push({ offset: at, code: u16() });
          push(OTHER);
          break;
        case 0x84: // EXT4
          res.extensions.push({ offset: at, code: i32() });
          push(OTHER);
          break;
        case 0x64: // DICT
        case 0x6c: // LIST
        case 0x74: // TUPLE
        case 0x91: // FROZENSET
        case 0x6f: // OBJ
          popMark(at);
          push(OTHER);
          break;
        case 0x65: // APPENDS
        case 0x75: // SETITEMS
        case 0x90: // ADDITEMS
          popMark(at);
          top(at);
          break;
        case 0x67: // GET
          memoGet(at, decimalLine(at));
          break;
        case 0x68: // BINGET
          memoGet(at, u8());
          break;
        case 0x6a: // LONG_BINGET
          memoGet(at, u32());
          break;
        case 0x70: // PUT
          memoPut(at, decimalLine(at));
          break;
        case 0x71: // BINPUT
          memoPut(at, u8());
          break;
        case 0x72: // LONG_BINPUT
          memoPut(at, u32());
          break;
        case 0x94: // MEMOIZE: the next slot is the memo's current size
          memoPut(at, memo.size);
          break;
        case 0x80: {
          // PROTO
          const p = u8();
          if (p > 5) malformed(at, `unsupported pickle protocol ${p}`);
          res.protocol = Math.max(res.protocol ?? 0, p);
          break;
        }
        case 0x95: // FRAME: a buffering hint; the opcodes inside are walked as usual
          u64();
          break;
        case 0x97: // NEXT_BUFFER (out-of-band buffer)
          push(OTHER);
          break;
        default:
          malformed(at, `unknown opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}`);
      }
    }
  }

  while (pos < end && res.pickles < maxPickles) {
    stack = [];
    memo = new Map();
    try {
      walkOne();
      res.pickles++;
    } catch (err) {
      if (!(err instanceof Stop)) throw err;
      res.problems.push(err.problem);
      return res;
    }
    // Only keep going when another pickle plainly follows (protocol 2+ header); anything else after
    // STOP is data no unpickler reads.
    if (pos >= end || bytes[pos] !== 0x80) break;
    if (res.pickles >= maxPickles && !legacy) {
      res.problems.push({ kind: 'limit', offset: pos, message: `another pickle follows the ${maxPickles} walked` });
      return res;
    }
  }
  if (complete) res.trailingBytes = end - pos;
  return res;
}

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

function latin1(b: Uint8Array): Sym {
  if (b.length > MAX_KEPT_STRING) return OTHER;
  return String.fromCharCode(...b);
}

/** Python's codecs.escape_decode for STRING literals, enough to recover module names exactly. */
function escapeDecode(b: Uint8Array): Sym {
  if (b.length > MAX_KEPT_STRING) return OTHER;
  let out = '';
  const s = String.fromCharCode(...b);
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c !== '\\' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const e = s[++i] as string;
    const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };
    if (simple[e] !== undefined) out += simple[e];
    else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/[0-7]/.test(e)) {
      const m = /^[0-7]{1,3}/.exec(s.slice(i)) as RegExpExecArray;
      out += String.fromCharCode(parseInt(m[0], 8) & 0xff);
      i += m[0].length - 1;
    } else out += `\\${e}`;
  }
  // Python 3 decodes the bytes as ASCII by default; anything else is not a usable module name.
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(out) ? out : OTHER;
}

/** raw-unicode-escape: bytes are latin-1 except \uXXXX and \UXXXXXXXX escapes. */
function rawUnicodeEscape(b: Uint8Array): Sym {
  if (b.length > MAX_KEPT_STRING) return OTHER;
  const s = String.fromCharCode(...b);
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt((u4 ?? u8) as string, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
  });
}
