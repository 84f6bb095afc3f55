/**
 * The machine's float32 matrix-multiply peak as onnxruntime reaches it: one [n × n] · [n × n] MatMul
 * graph (MLAS sgemm) run a few times, best run kept. The bench divides achieved GFLOP/s by this.
 */
import os from 'node:os';
import { GraphWriter } from '../src/model/build-graph/onnx-writer.js';
import { createSession } from '../src/model/session.js';
import ort from 'onnxruntime-node';

export async function ortSgemmPeak(threads: number, n = 2048, reps = 6): Promise<{ gflops: number; n: number }> {
  const g = new GraphWriter(17);
  const a = g.input('a', 'float32', [n, n]);
  const b = g.input('b', 'float32', [n, n]);
  g.output(g.op('MatMul', [a, b]), 'c', 'float32', [n, n]);
  const session = await createSession({ bytes: g.encode({ producer: 'trigger-scan-bench', version: '1' }), externalDataFolder: os.tmpdir(), label: 'sgemm' }, { threads });
  try {
    const data = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const feeds = { a: new ort.Tensor('float32', data, [n, n]), b: new ort.Tensor('float32', data, [n, n]) };
    await session.run(feeds);
    let best = Infinity;
    for (let r = 0; r < reps; r++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    return { gflops: (2 * n ** 3) / best / 1e9, n };
  } finally {
    await session.release();
  }
}
