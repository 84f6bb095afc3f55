/**
 * The graph builder's equivalence figures, per checkpoint fixture (test/fixtures/checkpoints):
 * parameter count, max |Δlogit| against the committed torch reference over a left-padded batch at
 * every real position, whether greedy decoding with the KV cache picks the tokens (and logits) a
 * recomputation of the whole sequence gives, and max |Δlogit| when the same weights are stored as
 * BF16 or F16 (a copy written here, rounded to nearest; the reference stays the float32 one, so the
 * figure is the precision a half-precision checkpoint costs). The tests assert the first three;
 * this prints them. Usage: node --import tsx bench/build-graph-figures.ts [--threads N]
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel, type LoadedModel } from '../src/model/load-model.js';
import { CausalLM } from '../src/run/causal-lm.js';
import { FIXTURE_NAMES, forwardRows, maxAbs, readReference, type Reference } from '../test/model/build-graph/checkpoint-fixtures.js';
import { toHalf, type WeightDtype } from './random-model.js';

const args = process.argv.slice(2);
const threads = Number(args[args.indexOf('--threads') + 1] || 1);

async function maxDelta(m: LoadedModel, ref: Reference): Promise<number> {
  const got = await forwardRows(m, ref.rows);
  return Math.max(...ref.rows.map((_, b) => maxAbs(got[b]!, ref.logits[b]!)));
}

/** Greedy decoding with the cache vs teacher forcing the generated tokens without one. */
async function cacheVsRecompute(m: LoadedModel, rows: number[][], steps = 8): Promise<{ sameTokens: boolean; delta: number }> {
  const lm = new CausalLM(m, { batchSize: 4 });
  const gens = await lm.generate(rows, steps, { keepLogits: true, stopAtEos: false });
  let delta = 0;
  let sameTokens = true;
  await lm.teacherForce(rows.map((p, i) => ({ prompt: p, continuation: gens[i]!.tokens })), (i, logits) => {
    const g = gens[i]!;
    for (let k = 0; k < g.tokens.length; k++) {
      const full = logits.subarray(k * lm.vocab, (k + 1) * lm.vocab);
      delta = Math.max(delta, maxAbs(full, g.stepLogits![k]!));
      let best = 0;
      for (let v = 1; v < lm.vocab; v++) if (full[v]! > full[best]!) best = v;
      if (best !== g.tokens[k]) sameTokens = false;
    }
  });
  return { sameTokens, delta };
}

function float32Of(dtype: string, bytes: Buffer): Float32Array {
  if (dtype === 'F32') return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const u16 = new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const out = new Float32Array(u16.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < u16.length; i++) {
    const h = u16[i]!;
    if (dtype === 'BF16') bits[i] = h << 16;
    else {
      const e = (h >> 10) & 31;
      const m = h & 1023;
      const v = e === 0 ? m * 2 ** -24 : e === 31 ? Infinity : (1 + m / 1024) * 2 ** (e - 15);
      out[i] = h & 0x8000 ? -v : v;
    }
  }
  return out;
}

/** Rewrite every shard of a model folder copy with its tensors rounded to `dtype` (names, order and index kept). */
function rewriteAs(dir: string, dtype: WeightDtype): void {
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.safetensors'))) {
    const file = path.join(dir, f);
    const b = readFileSync(file);
    const hl = Number(b.readBigUInt64LE(0));
    const header = JSON.parse(b.subarray(8, 8 + hl).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const out: Record<string, unknown> = {};
    const parts: Buffer[] = [];
    let off = 0;
    for (const [name, e] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const x = float32Of(e.dtype, b.subarray(8 + hl + e.data_offsets[0], 8 + hl + e.data_offsets[1]));
      const half = Uint16Array.from(x, (v) => toHalf(v, dtype as 'F16' | 'BF16'));
      const data = Buffer.from(half.buffer);
      out[name] = { dtype, shape: e.shape, data_offsets: [off, off + data.length] };
      off += data.length;
      parts.push(data);
    }
    let h = Buffer.from(JSON.stringify(out));
    h = Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8, 0x20)]);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    writeFileSync(file, Buffer.concat([len, h, ...parts]));
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-bg-figures-'));
const fmt = (x: number) => x.toExponential(1);
try {
  console.log('| fixture | model_type | stored | parameters | max |Δlogit| vs reference | cache = recompute (tokens; max |Δ|) | as BF16 | as F16 |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const name of FIXTURE_NAMES) {
    const ref = readReference(name);
    const m = await loadModel(ref.modelDir, { threads });
    let line: string;
    try {
      const params = m.built!.info.parameters;
      if (params !== ref.parameters) throw new Error(`${name}: built graph has ${params} parameters, the reference says ${ref.parameters}`);
      const d = await maxDelta(m, ref);
      const c = await cacheVsRecompute(m, ref.rows);
      line = `| ${name} | ${ref.modelType} | ${ref.dtype} | ${params.toLocaleString('en-US')} | ${fmt(d)} | ${c.sameTokens ? 'yes' : 'NO'}; ${fmt(c.delta)} |`;
    } finally {
      await m.release();
    }
    for (const dtype of ['BF16', 'F16'] as const) {
      if (dtype === ref.dtype) {
        line += ' (as stored) |';
        continue;
      }
      const dir = path.join(tmp, `${name}-${dtype}`);
      cpSync(ref.modelDir, dir, { recursive: true });
      rewriteAs(dir, dtype);
      const h = await loadModel(dir, { threads });
      try {
        line += ` ${fmt(await maxDelta(h, ref))} |`;
      } finally {
        await h.release();
      }
    }
    console.log(line);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
