import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../errors.js';
import { openSafetensors } from '../../formats/safetensors.js';
import { isPlainShardName } from '../../formats/safetensors-index.js';
import { isJsonObject, parseStrictJson } from '../../formats/strict-json.js';
import { decodeUtf8, readSmallFile } from '../../formats/untrusted-json.js';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** One tensor of a checkpoint, placed in its (validated) shard. */
export interface CheckpointTensor {
  name: string;
  dtype: string;
  shape: readonly number[];
  /** The shard as named in the model folder (absolute). */
  file: string;
  /** Byte range of the tensor in that shard. */
  offset: number;
  length: number;
}

export interface Checkpoint {
  dir: string;
  /** model.safetensors, or model.safetensors.index.json for a sharded checkpoint (absolute). */
  entry: string;
  shards: { file: string; size: number }[];
  tensors: ReadonlyMap<string, CheckpointTensor>;
  /**
   * The folder onnxruntime resolves external data against and each shard's path inside it.
   * Usually the model folder; a Hugging Face cache snapshot links its files into `blobs/`, and
   * onnxruntime refuses external data whose real path leaves its folder, so the real paths count.
   */
  externalRoot: string;
  locations: ReadonlyMap<string, string>;
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

/** Which checkpoint file a folder holds, if any (transformers prefers the single file too). */
export async function findCheckpoint(dir: string): Promise<string | undefined> {
  for (const name of [SINGLE_FILE, INDEX_FILE]) if (await isFile(path.join(dir, name))) return path.join(dir, name);
  return undefined;
}

function commonDir(paths: string[]): string {
  let root = path.dirname(paths[0]!);
  for (const p of paths) while (!(p + path.sep).startsWith(root === path.sep ? root : root + path.sep)) root = path.dirname(root);
  return root;
}

const MAX_INDEX_BYTES = 64 * 1024 * 1024;
const MAX_SHARDS = 10_000;

/**
 * weight_map of model.safetensors.index.json, read strictly (duplicate keys refused) and with
 * every shard a plain file name in the folder. Unlike the audit's index check, symlinks to
 * regular files are followed: a Hugging Face cache snapshot is made of them.
 */
async function readIndex(file: string): Promise<Map<string, string>> {
  const fail = (problem: string): never => {
    throw new UserError('E_CHECKPOINT', `${file}: ${problem}`, file);
  };
  const r = await readSmallFile(file, MAX_INDEX_BYTES);
  if (!r.ok) return fail(r.error);
  const text = decodeUtf8(r.bytes) ?? fail('is not UTF-8');
  const parsed = parseStrictJson(text);
  if (!parsed.ok) return fail(`is not valid JSON (${parsed.error} at character ${parsed.position})`);
  const dup = parsed.duplicates[0];
  if (dup) fail(`duplicate key ${JSON.stringify(dup.key)} at ${dup.path || '/'} (loaders disagree on which wins)`);
  const wm = isJsonObject(parsed.value) ? parsed.value.get('weight_map') : undefined;
  if (!isJsonObject(wm)) return fail('has no weight_map object');
  const out = new Map<string, string>();
  for (const [tensor, shard] of wm) {
    if (typeof shard !== 'string') fail(`weight_map entry ${JSON.stringify(tensor)} is not a file name`);
    if (!isPlainShardName(shard as string)) fail(`shard name ${JSON.stringify(shard)} is not a plain file name inside the model folder`);
    out.set(tensor, shard as string);
  }
  const shards = new Set(out.values());
  if (!shards.size) fail('weight_map lists no shards');
  if (shards.size > MAX_SHARDS) fail(`${shards.size} shards exceed the cap of ${MAX_SHARDS}`);
  return out;
}

/**
 * Open a checkpoint for building a graph: every shard's header goes through the hardened
 * safetensors reader (offsets tile the file, dtypes known, sizes agree), an index must name only
 * plain files in the folder, agree with the shards' headers, and a tensor may appear once.
 */
export async function openCheckpoint(dir: string, entry: string): Promise<Checkpoint> {
  let shardNames: string[];
  let weightMap: ReadonlyMap<string, string> | undefined;
  if (path.basename(entry) === INDEX_FILE) {
    weightMap = await readIndex(entry);
    shardNames = [...new Set(weightMap.values())].sort();
  } else {
    shardNames = [path.basename(entry)];
  }

  const tensors = new Map<string, CheckpointTensor>();
  const shards: Checkpoint['shards'] = [];
  for (const name of shardNames) {
    const file = path.join(dir, name);
    if (weightMap && !(await isFile(file))) throw new UserError('E_CHECKPOINT', `${entry}: shard ${JSON.stringify(name)} listed in weight_map does not exist`, entry);
    const st = await openSafetensors(file);
    shards.push({ file, size: st.fileSize });
    for (const t of st.tensors.values()) {
      const prev = tensors.get(t.name);
      if (prev) throw new UserError('E_CHECKPOINT', `${file}: tensor ${JSON.stringify(t.name)} is also in ${path.basename(prev.file)}`, file);
      // The index check compares only regular-file shards; this covers symlinked ones too.
      if (weightMap && weightMap.get(t.name) !== name) {
        throw new UserError('E_CHECKPOINT', `${file}: holds tensor ${JSON.stringify(t.name)} that ${INDEX_FILE} ${weightMap.has(t.name) ? `puts in ${weightMap.get(t.name)}` : 'does not list'}`, file);
      }
      tensors.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, file, offset: t.fileOffset, length: t.byteLength });
    }
  }
  if (weightMap) {
    for (const [t, shard] of weightMap) {
      if (!tensors.has(t)) throw new UserError('E_CHECKPOINT', `${entry}: weight_map puts ${JSON.stringify(t)} in ${shard}, which has no such tensor`, entry);
    }
  }

  const real = await Promise.all(shards.map((s) => realpath(s.file)));
  const externalRoot = commonDir(real);
  const locations = new Map(shards.map((s, i) => [s.file, path.relative(externalRoot, real[i]!).split(path.sep).join('/')]));
  return { dir, entry, shards, tensors, externalRoot, locations };
}
