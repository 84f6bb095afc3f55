import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { identityGraph } from '../helpers/onnx-builder.js';
import { HAVE_REALMODELS, SHARED_REALMODELS } from '../helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-errors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const GPT2 = path.join(SHARED_REALMODELS, 'gpt2-tiny-random');

/** A model folder assembled from parts, so each case breaks exactly one thing. */
function folder(name: string, files: Record<string, string | Uint8Array>): string {
  const dir = path.join(tmp, name);
  for (const [rel, src] of Object.entries(files)) {
    const dest = path.join(dir, rel);
    mkdirSync(path.dirname(dest), { recursive: true });
    if (typeof src === 'string') copyFileSync(src, dest);
    else writeFileSync(dest, src);
  }
  return dir;
}

function expectOneLineError(r: { code: number; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(2);
  const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^trigger-scan: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('user errors through the CLI: exit 2, one line naming the file', () => {
  it('model folder missing', () => {
    expectOneLineError(runCli(['inspect', path.join(tmp, 'nope')]), /nope: model folder not found/);
  });

  it('a file given instead of a folder', () => {
    const f = path.join(tmp, 'plain.txt');
    writeFileSync(f, 'x');
    expectOneLineError(runCli(['inspect', f]), /plain\.txt: not a folder/);
  });

  it('no ONNX graph', () => {
    const dir = folder('no-graph', { 'tokenizer.json': Buffer.from('{}') });
    expectOneLineError(runCli(['inspect', dir]), /no-graph: no ONNX graph \(looked for model\.onnx, onnx\/model\.onnx/);
  });

  it('usage errors exit 2 too', () => {
    expect(runCli(['inspect']).code).toBe(2);
    expect(runCli(['inspect', tmp, '--threads', 'zero']).code).toBe(2);
    expect(runCli(['frobnicate']).code).toBe(2);
  });

  it('an unreadable graph (not protobuf at all)', () => {
    const dir = folder('garbage', { 'model.onnx': Buffer.from('this is not an onnx file\n'.repeat(20)), 'tokenizer.json': Buffer.from('{}') });
    // The tokenizer is checked first, so give a real one when we have it.
    if (HAVE_REALMODELS) copyFileSync(path.join(GPT2, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
    const r = runCli(['inspect', dir]);
    expectOneLineError(r, HAVE_REALMODELS ? /garbage[/\\]model\.onnx: not a (readable|decodable) ONNX/ : /garbage[/\\]tokenizer\.json/);
  });

  describe.skipIf(!HAVE_REALMODELS)('with parts of a real model', () => {
    it('no tokenizer', () => {
      const dir = folder('no-tok', { 'model.onnx': path.join(GPT2, 'past.onnx') });
      expectOneLineError(runCli(['inspect', dir]), /no-tok: no tokenizer\.json/);
    });

    it('a truncated graph', () => {
      const bytes = readFileSync(path.join(GPT2, 'past.onnx'));
      const dir = folder('truncated', { 'model.onnx': bytes.subarray(0, Math.floor(bytes.length * 0.6)), 'tokenizer.json': path.join(GPT2, 'tokenizer.json') });
      expectOneLineError(runCli(['inspect', dir]), /truncated[/\\]model\.onnx: (not a readable ONNX graph|not a decodable ONNX model|onnxruntime cannot load)/);
    });

    it('a tokenizer whose ids run past the embedding (real upstream mismatch)', () => {
      const mm = path.join(GPT2, 'mismatched-full-gpt2-tokenizer');
      const dir = folder('mismatch', {
        'model.onnx': path.join(GPT2, 'past.onnx'),
        'config.json': path.join(GPT2, 'config.json'),
        'tokenizer.json': path.join(mm, 'tokenizer.json'),
        'tokenizer_config.json': path.join(mm, 'tokenizer_config.json'),
      });
      expectOneLineError(runCli(['inspect', dir]), /mismatch[/\\]tokenizer\.json: tokenizer has 5\d{4} ids but the model's embedding has 1000 rows \(initializer transformer\.wte\.weight\); wrong tokenizer for model\.onnx$/);
    });

    it('an I/O signature we do not support, saying what was found', () => {
      const dir = folder('weird-io', {
        'model.onnx': identityGraph([{ name: 'pixel_values', type: 'float32', dims: ['batch', 3, 8, 8] }]),
        'tokenizer.json': path.join(GPT2, 'tokenizer.json'),
      });
      expectOneLineError(runCli(['inspect', dir]), /weird-io[/\\]model\.onnx: unsupported I\/O signature, need input_ids and logits \(inputs: pixel_values:float32\[batch,3,8,8\]/);
    });
  });
});

describe.skipIf(!HAVE_REALMODELS)('inspect', () => {
  it('describes a real ORT-genai Llama folder, as text and as JSON', () => {
    const dir = path.join(SHARED_REALMODELS, 'llama-tiny-random-fp16');
    const text = runCli(['inspect', dir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/layout\s+onnxruntime-genai/);
    expect(text.stdout).toMatch(/separate cache, 2 layers × 1 heads × 16, float16/);
    expect(text.stdout).toMatch(/model\.onnx\.data/);
    const json = runCli(['inspect', dir, '--json']);
    expect(json.code).toBe(0);
    const r = JSON.parse(json.stdout);
    expect(r).toMatchObject({ task: 'causal-lm', idsType: 'int64', logitsType: 'float16', externalDataFiles: ['model.onnx.data'] });
    expect(r.vocab).toEqual({ tokenizer: 32000, embeddingRows: 32000, embeddingSource: 'initializer model.embed_tokens.weight', configVocabSize: 32000 });
    expect(r.parameters).toBe(1065040);
    expect(r.files.map((f: { path: string }) => f.path)).toContain('tokenizer.json');
  });

  it('picks a graph in a subfolder with --graph and finds the tokenizer one folder up', () => {
    const r = runCli(['inspect', path.join(SHARED_REALMODELS, 'gpt2-tiny-random'), '--graph', 'fp16/past.onnx', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ graph: 'fp16/past.onnx', logitsType: 'float16', kvCache: { kind: 'stacked', layers: 5 } });
  });
});
