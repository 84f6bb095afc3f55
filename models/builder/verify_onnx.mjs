// Builder utility (not a test): runs exported graphs in onnxruntime-node on
// cases written by build.py --verify-dir and compares with torch's outputs.
// Usage: node models/builder/verify_onnx.mjs /tmp/verify/cases.json
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const sessions = new Map();
let failed = 0;
for (const c of cases) {
  if (!sessions.has(c.model)) sessions.set(c.model, await ort.InferenceSession.create(c.model, { intraOpNumThreads: 1 }));
  const s = sessions.get(c.model);
  const feeds = {};
  for (const [name, t] of Object.entries(c.inputs)) {
    const data = t.dtype === 'int64' ? BigInt64Array.from(t.data.map(BigInt))
      : t.dtype === 'bool' ? Uint8Array.from(t.data.map(Number)) : Float32Array.from(t.data);
    feeds[name] = new ort.Tensor(t.dtype, data, t.shape);
  }
  const out = await s.run(feeds);
  let worst = 0;
  let shapeOk = true;
  for (const [name, t] of Object.entries(c.expected)) {
    const got = out[name];
    if (JSON.stringify(Array.from(got.dims)) !== JSON.stringify(t.shape)) shapeOk = false;
    for (let i = 0; i < t.data.length; i++) {
      const d = Math.abs(got.data[i] - t.data[i]);
      if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
    }
  }
  const ok = shapeOk && worst <= (c.tol ?? 1e-4);
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${c.name} max|diff|=${worst.toExponential(2)}${shapeOk ? '' : ' SHAPE MISMATCH'}`);
}
console.log(`${cases.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
