import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPickleCandidate, scanModelPickles } from '../../../src/provenance/audits/pickle-files.js';
import { f32, safetensors, zip } from '../helpers/build.js';
import { POSIX_SYSTEM_P2, benignTorchPickle } from '../helpers/hostile-corpus.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ts-pkl-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('scanModelPickles', () => {
  it('notes pickles next to safetensors as low and scans them', async () => {
    const m = path.join(dir, 'model');
    await mkdir(path.join(m, 'sub'), { recursive: true });
    await writeFile(path.join(m, 'model.safetensors'), safetensors([{ name: 'w', dtype: 'F32', shape: [1], data: f32(1) }]));
    await writeFile(path.join(m, 'pytorch_model.bin'), benignTorchPickle());
    await writeFile(path.join(m, 'sub', 'optimizer.pt'), zip([{ name: 'archive/data.pkl', data: POSIX_SYSTEM_P2 }]));
    await writeFile(path.join(m, 'config.json'), '{}');
    const r = await scanModelPickles(m, ['config.json', 'model.safetensors', 'pytorch_model.bin', 'sub/optimizer.pt']);
    expect(r.reports.map((x) => path.relative(m, x.file))).toEqual(['pytorch_model.bin', path.join('sub', 'optimizer.pt')]);
    expect(r.findings.filter((f) => f.id === 'pickle.present').map((f) => f.severity)).toEqual(['low', 'low']);
    expect(r.findings.filter((f) => f.id === 'pickle.dangerous-global').length).toBe(1);
  });

  it('uses info severity when the pickle is the only weights file', async () => {
    const m = path.join(dir, 'only');
    await mkdir(m, { recursive: true });
    await writeFile(path.join(m, 'model.ckpt'), benignTorchPickle());
    const r = await scanModelPickles(m, ['model.ckpt']);
    expect(r.findings.map((f) => [f.id, f.severity])).toEqual([['pickle.present', 'info']]);
  });

  it('recognises pickle extensions', () => {
    expect(['a.bin', 'b.PT', 'c.pth', 'd.pkl', 'e.ckpt', 'f.pickle'].every(isPickleCandidate)).toBe(true);
    expect(['model.safetensors', 'model.onnx', 'tokenizer.json', 'bin'].some(isPickleCandidate)).toBe(false);
  });
});
