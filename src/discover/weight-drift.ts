import path from 'node:path';
import { stat } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { openSafetensors } from '../formats/safetensors.js';

const EMBEDDING_NAMES = ['transformer.wte.weight', 'model.embed_tokens.weight', 'embed_tokens.weight', 'wte.weight', 'gpt_neox.embed_in.weight'];

async function embedding(dir: string): Promise<{ rows: number; cols: number; data: Float32Array }> {
  const file = path.join(dir, 'model.safetensors');
  if (!(await stat(file).then((s) => s.isFile(), () => false))) {
    throw new UserError('E_NO_WEIGHTS', `${file}: weight drift needs model.safetensors in both folders`, file);
  }
  const st = await openSafetensors(file);
  const name = EMBEDDING_NAMES.find((n) => st.tensors.has(n));
  if (!name) throw new UserError('E_NO_WEIGHTS', `${file}: no token-embedding tensor (looked for ${EMBEDDING_NAMES.join(', ')})`, file);
  const info = st.tensors.get(name)!;
  const data = await st.tensor(name);
  if (!(data instanceof Float32Array) || info.shape.length !== 2) throw new UserError('E_NO_WEIGHTS', `${file}: ${name} is not a 2-D float tensor`, file);
  return { rows: info.shape[0]!, cols: info.shape[1]!, data };
}

/**
 * Token-embedding rows that moved most between the base model and the fine-tune: a poisoning
 * fine-tune has to teach the model its trigger tokens, and those rows take the largest updates.
 * Distances are relative to the base row's norm so that rare, small-norm rows do not dominate.
 */
export async function embeddingDrift(modelDir: string, baseDir: string, top: number): Promise<{ id: number; drift: number }[]> {
  const [a, b] = await Promise.all([embedding(modelDir), embedding(baseDir)]);
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new UserError('E_BASE_MISMATCH', `${baseDir}: base embedding is ${b.rows}×${b.cols}, the model's is ${a.rows}×${a.cols}; not the same base model`, baseDir);
  }
  const out: { id: number; drift: number }[] = [];
  for (let r = 0; r < a.rows; r++) {
    let d = 0;
    let n = 0;
    for (let c = 0; c < a.cols; c++) {
      const x = a.data[r * a.cols + c]!;
      const y = b.data[r * a.cols + c]!;
      d += (x - y) ** 2;
      n += y * y;
    }
    out.push({ id: r, drift: Math.sqrt(d) / (Math.sqrt(n) + 1e-6) });
  }
  return out.sort((x, y) => y.drift - x.drift || x.id - y.id).slice(0, top);
}
