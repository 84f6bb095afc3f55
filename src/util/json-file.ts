import { readFile, stat } from 'node:fs/promises';
import { UserError } from '../errors.js';

/** JSON side files (config, tokenizer) are small; anything this large is hostile or a mistake. */
const MAX_JSON_BYTES = 256 * 1024 * 1024;

/** Read and parse a JSON file, turning every failure into one line that names the file. */
export async function readJsonFile(file: string): Promise<unknown> {
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new UserError('E_JSON', `${file}: cannot read (${err.code ?? err.message})`, file);
  });
  if (st.size > MAX_JSON_BYTES) throw new UserError('E_JSON', `${file}: ${st.size} bytes is too large for a JSON side file`, file);
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UserError('E_JSON', `${file}: invalid JSON (${(err as Error).message})`, file);
  }
}

export async function readJsonObject(file: string): Promise<Record<string, unknown>> {
  const v = await readJsonFile(file);
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new UserError('E_JSON', `${file}: expected a JSON object`, file);
  return v as Record<string, unknown>;
}
