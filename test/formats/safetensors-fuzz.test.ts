import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inspectSafetensorsBytes } from '../../src/formats/safetensors.js';
import { f32, rawSafetensors, safetensors } from '../provenance/helpers/build.js';

// Property: whatever the bytes, the reader returns a result (never throws), every finding is
// well-formed, `valid` files describe exactly the bytes they hold, and no input takes long.

const SEVERITIES = new Set(['info', 'low', 'medium', 'high', 'critical']);
// An input takes well under a millisecond; a hang or a path exponential in the input shows as
// seconds or never ends. The bound is that generous because a test process on 2 shared cores can
// be descheduled for hundreds of milliseconds (250 ms was seen to fail under load): speed is
// measured by `npm run bench`, this only catches runaways.
const PER_INPUT_MS = 5_000;

async function checkInvariants(bytes: Uint8Array): Promise<void> {
  const t0 = performance.now();
  const r = await inspectSafetensorsBytes(bytes, 'fuzz.safetensors');
  expect(performance.now() - t0).toBeLessThan(PER_INPUT_MS);
  for (const f of r.findings) {
    expect(f.id).toMatch(/^safetensors\.[a-z0-9-]+$/);
    expect(SEVERITIES.has(f.severity)).toBe(true);
    expect(f.message.startsWith('fuzz.safetensors: ')).toBe(true);
  }
  if (r.valid) {
    expect(r.findings.every((f) => f.severity === 'info' || f.severity === 'low' || f.severity === 'medium')).toBe(true);
    const dataStart = 8 + (r.headerLength as number);
    let cursor = 0;
    for (const t of r.tensors) {
      expect(t.dataOffsets[0]).toBe(cursor);
      expect(t.fileOffset).toBe(dataStart + t.dataOffsets[0]);
      cursor = t.dataOffsets[1];
    }
    expect(dataStart + cursor).toBe(bytes.length);
  } else {
    expect(r.findings.some((f) => f.severity === 'high' || f.severity === 'critical')).toBe(true);
  }
}

const VALID = safetensors(
  [
    { name: 'embed.weight', dtype: 'F32', shape: [2, 2], data: f32(1, 2, 3, 4) },
    { name: 'norm', dtype: 'BF16', shape: [2], data: Uint8Array.of(0x80, 0x3f, 0, 0) },
    { name: 'ids', dtype: 'I64', shape: [1], data: new Uint8Array(8) },
  ],
  { format: 'pt' },
);

/** Header-level mutations: JSON fragments spliced into the header text. */
const FRAGMENTS = ['"', '{', '}', '[', ']', ',', ':', '0', '-1', '1e999', '9007199254740993', '"__proto__"', '"dtype"', 'null', '\\u0000', '\\ud800', '\u00ff', ' '];

describe('safetensors reader under fuzzing', () => {
  it('survives random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (b) => checkInvariants(b)),
      { numRuns: 1000 },
    );
  });

  it('survives random bytes behind a plausible header length', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.bigInt({ min: 0n, max: 600n }), async (b, n) => {
        const head = new Uint8Array(8);
        new DataView(head.buffer).setBigUint64(0, n, true);
        const bytes = new Uint8Array(8 + b.length);
        bytes.set(head);
        bytes.set(b, 8);
        await checkInvariants(bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it('survives byte-level mutations of a valid file', async () => {
    await checkInvariants(VALID);
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(VALID.length - 1), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(VALID.length - 1), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(VALID.length) }),
      fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (muts) => {
        let b = Uint8Array.from(VALID);
        for (const m of muts) {
          if (m.kind === 'flip') b[m.at % b.length] = (b[m.at % b.length] as number) ^ (1 << m.bit);
          else if (m.kind === 'set') b[m.at % b.length] = m.value;
          else if (m.kind === 'truncate') b = b.subarray(0, m.at);
          else b = Uint8Array.from([...b, ...m.extra]);
          if (b.length === 0) break;
        }
        await checkInvariants(b);
      }),
      { numRuns: 1500 },
    );
  });

  it('survives JSON-level mutations of a valid header', async () => {
    const headerLen = Number(new DataView(VALID.buffer).getBigUint64(0, true));
    const text = Buffer.from(VALID.subarray(8, 8 + headerLen)).toString('utf8').trimEnd();
    const data = VALID.subarray(8 + headerLen);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat(text.length), del: fc.nat(3), ins: fc.constantFrom(...FRAGMENTS) }), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        async (edits, keepData) => {
          let t = text;
          for (const e of edits) {
            const at = e.at % (t.length + 1);
            t = t.slice(0, at) + e.ins + t.slice(at + e.del);
          }
          await checkInvariants(rawSafetensors(t, keepData ? data : data.subarray(0, data.length >> 1)));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('handles a header at the tensor cap in bounded time', async () => {
    const h: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) h[`model.layers.${i}.weight`] = { dtype: 'U8', shape: [1], data_offsets: [i, i + 1] };
    const text = JSON.stringify(h);
    const bytes = rawSafetensors(text, new Uint8Array(100_000));
    // Relative to JSON.parse on the same text, with a wide margin: a quadratic walk over 100,000
    // tensors would take minutes, while load on a shared machine costs seconds at most.
    let t0 = performance.now();
    JSON.parse(text);
    const baseline = performance.now() - t0;
    t0 = performance.now();
    const r = await inspectSafetensorsBytes(bytes, 'big.safetensors');
    const took = performance.now() - t0;
    expect(r.valid).toBe(true);
    expect(r.tensors.length).toBe(100_000);
    expect(took).toBeLessThan(50 * baseline + 10_000);
  });
});
