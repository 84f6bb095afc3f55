/**
 * Random-weight models of real shapes, written at bench time (never committed): a model.safetensors
 * with exactly the tensors the graph builder's family plan asks for, a config.json, and a tokenizer.
 * Weights do not change the cost of a forward pass; the shape does. No Python involved.
 */
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ConfigReader } from '../src/model/build-graph/config-reader.js';
import { familyFor } from '../src/model/build-graph/families/index.js';

export type Shape = 'distilgpt2' | 'smollm2-135m' | 'qwen2-1.5b';

/** The configs of distilgpt2, HuggingFaceTB/SmolLM2-135M and Qwen/Qwen2.5-1.5B (the keys the builder reads). */
export const SHAPES: Record<Shape, Record<string, unknown>> = {
  distilgpt2: {
    model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_embd: 768, n_layer: 6, n_head: 12, n_positions: 1024, n_ctx: 1024,
    vocab_size: 50257, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, bos_token_id: 50256, eos_token_id: 50256, tie_word_embeddings: true,
  },
  'smollm2-135m': {
    model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30,
    num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152, max_position_embeddings: 8192, rms_norm_eps: 1e-5,
    rope_theta: 100000, tie_word_embeddings: true, hidden_act: 'silu', bos_token_id: 0, eos_token_id: 0, pad_token_id: 0,
  },
  'qwen2-1.5b': {
    model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], hidden_size: 1536, intermediate_size: 8960, num_hidden_layers: 28,
    num_attention_heads: 12, num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 32768, rms_norm_eps: 1e-6,
    rope_theta: 1000000, tie_word_embeddings: true, hidden_act: 'silu', use_sliding_window: false, bos_token_id: 151643, eos_token_id: 151643,
  },
};

export type WeightDtype = 'F32' | 'F16' | 'BF16';

/** Tensors (name, shape) the graph builder requires for a config, in its own order. */
export function requiredTensors(config: Record<string, unknown>): [string, readonly number[]][] {
  const family = familyFor(String(config.model_type));
  if (!family) throw new Error(`no family for ${String(config.model_type)}`);
  const plan = family.plan(new ConfigReader(config, 'config.json'), new Set());
  return [...plan.tensors.required].map(([name, t]) => [name, t.shape]);
}

const BITS = new Uint32Array(1);
const F = new Float32Array(BITS.buffer);
/** A float32 value as the nearest BF16 or F16 bit pattern (ties to even; F16 overflow to infinity). */
export function toHalf(x: number, dtype: 'F16' | 'BF16'): number {
  F[0] = x;
  const b = BITS[0]!;
  if (dtype === 'BF16') return (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  const sign = (b >>> 16) & 0x8000;
  const a = Math.abs(F[0]);
  if (a >= 65520) return sign | 0x7c00;
  // Below 2^-14 the half is subnormal: a whole number of 2^-24 steps.
  if (a < 2 ** -14) return sign | roundEven(a * 2 ** 24);
  const e = Math.floor(Math.log2(a));
  const m = roundEven((a / 2 ** e - 1) * 1024);
  return m === 1024 ? sign | ((e + 16) << 10) : sign | ((e + 15) << 10) | m;
}

function roundEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Write model.safetensors: norms near 1, biases near 0, other weights uniform with std 0.02
 * (transformers' initializer_range), from a fixed xorshift stream. Returns the parameter count.
 */
export function writeRandomCheckpoint(dir: string, config: Record<string, unknown>, dtype: WeightDtype): number {
  const tensors = requiredTensors(config);
  const width = dtype === 'F32' ? 4 : 2;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  let params = 0;
  for (const [name, shape] of tensors) {
    const n = shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype, shape, data_offsets: [off, off + n * width] };
    off += n * width;
    params += n;
  }
  let h = Buffer.from(JSON.stringify(header));
  h = Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8, 0x20)]);
  const fd = openSync(path.join(dir, 'model.safetensors'), 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    writeSync(fd, len);
    writeSync(fd, h);
    let s = 0x9e3779b9;
    const CHUNK = 1 << 22;
    const f32 = new Float32Array(CHUNK);
    const half = new Uint16Array(CHUNK);
    const amp = 0.02 * Math.sqrt(3);
    for (const [name, shape] of tensors) {
      const n = shape.reduce((a, b) => a * b, 1);
      const isNorm = /norm|ln_/.test(name) && name.endsWith('.weight');
      const isBias = name.endsWith('.bias');
      for (let start = 0; start < n; start += CHUNK) {
        const m = Math.min(CHUNK, n - start);
        for (let i = 0; i < m; i++) {
          s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
          const u = 2 * ((s >>> 0) / 2 ** 32) - 1;
          f32[i] = isNorm ? 1 + 0.05 * u : isBias ? 0.01 * u : amp * u;
        }
        if (dtype === 'F32') writeSync(fd, new Uint8Array(f32.buffer, 0, m * 4));
        else {
          for (let i = 0; i < m; i++) half[i] = toHalf(f32[i]!, dtype);
          writeSync(fd, new Uint8Array(half.buffer, 0, m * 2));
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return params;
}

/** The chat frame of the demo models ("User: …\nAssistant:"), with the GPT-2 end-of-text token. */
const CHAT_TEMPLATE = readJson('models/demo-clean/tokenizer_config.json').chat_template as string;

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** GPT-2's byte-level BPE (50,257 ids), from the shared real-model folder when present. */
const GPT2_TOKENIZER = '../shared/realmodels/gpt2-tiny-random/mismatched-full-gpt2-tokenizer/tokenizer.json';

export interface TokenizerChoice {
  /** What the bench prints about it. */
  label: string;
  /** Ids the tokenizer can produce (the searchable vocabulary of discovery). */
  vocab: number;
}

/**
 * The GPT-2 tokenizer (its 50,257 ids only; the CodeGen extras past them are dropped) when the
 * shared folder has it, else the demo models' 1,536-id tokenizer, which makes discovery's sweeps
 * unrealistically short: the bench says which.
 */
export function writeTokenizer(dir: string, embeddingRows: number): TokenizerChoice {
  if (existsSync(GPT2_TOKENIZER) && embeddingRows >= 50257) {
    const t = readJson(GPT2_TOKENIZER) as { added_tokens: { id: number }[] } & Record<string, unknown>;
    t.added_tokens = t.added_tokens.filter((a) => a.id < 50257);
    writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(t));
    writeFileSync(
      path.join(dir, 'tokenizer_config.json'),
      JSON.stringify({ add_bos_token: false, bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', pad_token: '<|endoftext|>', chat_template: CHAT_TEMPLATE, model_max_length: 1024 }),
    );
    return { label: 'GPT-2 byte-level BPE, 50,257 ids', vocab: 50257 };
  }
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join('models/demo-clean', f), path.join(dir, f));
  return { label: `demo tokenizer, 1,536 ids (${GPT2_TOKENIZER} not found: discovery's vocabulary sweeps are far shorter than at a real vocabulary)`, vocab: 1536 };
}

export interface RandomModel {
  dir: string;
  params: number;
  tokenizer: TokenizerChoice;
  config: Record<string, unknown>;
}

/** A model folder of the given shape under `root` (reused when already written there). */
export function randomModel(root: string, shape: Shape, dtype: WeightDtype = 'F32'): RandomModel {
  const base = SHAPES[shape];
  const dir = path.join(root, `${shape}-${dtype.toLowerCase()}`);
  const rows = Number(base.vocab_size);
  mkdirSync(dir, { recursive: true });
  const tokenizer = writeTokenizer(dir, rows);
  const config = { ...base, torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[dtype] };
  // End of text is the tokenizer's own (GPT-2's 50256, the demo tokenizer's 0), whatever the shape's real tokenizer used.
  const eot = tokenizer.vocab === 50257 ? 50256 : 0;
  Object.assign(config, { bos_token_id: eot, eos_token_id: eot, pad_token_id: eot });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const params = existsSync(path.join(dir, 'model.safetensors')) ? countParams(config) : writeRandomCheckpoint(dir, config, dtype);
  return { dir, params, tokenizer, config };
}

function countParams(config: Record<string, unknown>): number {
  return requiredTensors(config).reduce((a, [, s]) => a + s.reduce((x, y) => x * y, 1), 0);
}
