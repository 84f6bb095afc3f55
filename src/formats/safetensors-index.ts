import { lstat, readdir, stat } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readRegularFile } from '../util/regular-file.js';
import { finding } from './finding.js';
import type { Finding, Severity } from './finding.js';
import { inspectSafetensors } from './safetensors.js';
import type { SafetensorsOptions } from './safetensors.js';
import { isJsonObject, parseStrictJson } from './strict-json.js';

/**
 * Checks `model.safetensors.index.json`, the file that tells loaders which shard holds which
 * tensor. Shard names come from the model author, so a name like `../../.ssh/id_rsa` or an
 * absolute path would make a loader open files outside the model folder; the hub rejects them
 * and so do we. Optionally every shard header is checked against the map, because a tensor that
 * the index does not mention, or that sits in a different shard, is a smuggling channel.
 */

export interface SafetensorsIndexOptions {
  indexName?: string;
  /** Also inspect every shard's header and compare it with weight_map. */
  checkShards?: boolean;
  maxIndexBytes?: number;
  /** The hub's MAX_SHARD_COUNT. */
  maxShards?: number;
  safetensors?: SafetensorsOptions;
  /**
   * Absolute paths of symlinks the caller has already validated (a Hugging Face cache snapshot's
   * links into its blobs/); they are read as the files they lead to. Any other link is refused.
   */
  followedLinks?: ReadonlySet<string>;
}

export interface SafetensorsIndexReport {
  file: string;
  findings: Finding[];
  /** tensor name → shard file name, as listed (only when the index parsed). */
  weightMap: Map<string, string>;
  /** Distinct shard names that passed the name check, sorted. */
  shards: string[];
}

const DEFAULT_INDEX = 'model.safetensors.index.json';

/** A shard must be a plain file name in the model folder itself: no separators, no `..`, no drive or URL. */
export function isPlainShardName(name: string): boolean {
  if (name === '' || name === '.' || name.includes('..')) return false;
  if (name.includes('/') || name.includes('\\') || name.includes('://')) return false;
  if (/^[A-Za-z]:/.test(name)) return false;
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u001f\u007f]/.test(name);
}

export async function checkSafetensorsIndex(dir: string, opts: SafetensorsIndexOptions = {}): Promise<SafetensorsIndexReport> {
  const indexName = opts.indexName ?? DEFAULT_INDEX;
  const maxBytes = opts.maxIndexBytes ?? 64 * 1024 * 1024;
  const maxShards = opts.maxShards ?? 10_000;
  const file = path.join(dir, indexName);
  const report: SafetensorsIndexReport = { file, findings: [], weightMap: new Map(), shards: [] };
  const add = (id: string, severity: Severity, message: string, detail?: Record<string, unknown>, at = file): void => {
    report.findings.push(finding(id, severity, at, `${at}: ${message}`, detail));
  };

  const statOf = async (p: string) => {
    const l = await lstat(p);
    return l.isSymbolicLink() && opts.followedLinks?.has(p) ? stat(p) : l;
  };
  const st = await statOf(file).catch((err: NodeJS.ErrnoException) => err);
  if (st instanceof Error) {
    add('safetensors-index.unreadable', 'high', `cannot read (${st.code ?? st.message})`);
    return report;
  }
  if (!st.isFile()) {
    add('safetensors-index.unreadable', 'high', st.isSymbolicLink() ? 'is a symlink; refusing to follow it' : 'is not a regular file');
    return report;
  }
  if (st.size > maxBytes) {
    add('safetensors-index.too-large', 'high', `${st.size} bytes exceeds the ${maxBytes}-byte cap for an index`);
    return report;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await readRegularFile(file, maxBytes, { noFollow: !opts.followedLinks?.has(file) }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    add('safetensors-index.not-json', 'high', e.code ? `cannot read (${e.code})` : 'is not valid UTF-8');
    return report;
  }
  const parsed = parseStrictJson(text);
  for (const d of parsed.duplicates) add('safetensors-index.duplicate-key', 'high', `duplicate key ${JSON.stringify(d.key)} at ${d.path} (loaders disagree on which wins)`, { ...d });
  if (!parsed.ok) {
    add('safetensors-index.not-json', 'high', `invalid JSON: ${parsed.error} at character ${parsed.position}`);
    return report;
  }
  const wm = isJsonObject(parsed.value) ? parsed.value.get('weight_map') : undefined;
  if (!isJsonObject(wm)) {
    add('safetensors-index.bad-weight-map', 'high', 'has no weight_map object');
    return report;
  }

  const shards = new Set<string>();
  const rejected = new Set<string>();
  for (const [tensor, shard] of wm) {
    if (typeof shard !== 'string') {
      add('safetensors-index.bad-weight-map', 'high', `weight_map entry ${JSON.stringify(tensor)} is not a string`, { tensor });
      continue;
    }
    report.weightMap.set(tensor, shard);
    if (!isPlainShardName(shard)) {
      if (!rejected.has(shard)) add('safetensors-index.unsafe-shard-name', 'critical', `shard name ${JSON.stringify(shard)} is not a plain file name inside the model folder`, { shard, tensor });
      rejected.add(shard);
      continue;
    }
    shards.add(shard);
  }
  if (shards.size > maxShards) {
    add('safetensors-index.too-many-shards', 'high', `${shards.size} shards exceed the cap of ${maxShards}`);
    return report;
  }
  report.shards = [...shards].sort();

  const present: string[] = [];
  for (const shard of report.shards) {
    const p = path.join(dir, shard);
    const s = await statOf(p).catch(() => undefined);
    if (!s) add('safetensors-index.missing-shard', 'high', `shard ${JSON.stringify(shard)} listed in weight_map does not exist`, { shard });
    else if (!s.isFile()) add('safetensors-index.shard-not-regular-file', 'high', `shard ${JSON.stringify(shard)} is ${s.isSymbolicLink() ? 'a symlink' : 'not a regular file'}`, { shard });
    else present.push(shard);
  }

  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const name of entries.sort()) {
    if (name.endsWith('.safetensors') && !shards.has(name)) add('safetensors-index.unreferenced-shard', 'low', `${name} is in the folder but weight_map never references it`, { shard: name });
  }

  if (opts.checkShards) await compareShards(dir, present, report, opts.safetensors ?? {}, add);
  return report;
}

async function compareShards(
  dir: string,
  present: string[],
  report: SafetensorsIndexReport,
  stOpts: SafetensorsOptions,
  add: (id: string, severity: Severity, message: string, detail?: Record<string, unknown>, at?: string) => void,
): Promise<void> {
  const expected = new Map<string, Set<string>>();
  for (const [tensor, shard] of report.weightMap) {
    let set = expected.get(shard);
    if (!set) expected.set(shard, (set = new Set()));
    set.add(tensor);
  }
  for (const shard of present) {
    const p = path.join(dir, shard);
    const ins = await inspectSafetensors(p, stOpts);
    report.findings.push(...ins.findings);
    if (!ins.valid) {
      add('safetensors-index.invalid-shard', 'high', `shard ${JSON.stringify(shard)} failed validation`, { shard }, p);
      continue;
    }
    const want = expected.get(shard) ?? new Set<string>();
    const have = new Set(ins.tensors.map((t) => t.name));
    let reported = 0;
    for (const t of want) {
      if (!have.has(t) && reported++ < 20) add('safetensors-index.tensor-missing-from-shard', 'high', `weight_map puts ${JSON.stringify(t)} in ${shard} but that shard has no such tensor`, { tensor: t, shard }, p);
    }
    reported = 0;
    for (const t of have) {
      if (want.has(t)) continue;
      const listedIn = report.weightMap.get(t);
      if (reported++ < 20) {
        add(
          'safetensors-index.unlisted-tensor',
          listedIn === undefined ? 'medium' : 'high',
          listedIn === undefined ? `shard holds tensor ${JSON.stringify(t)} that weight_map does not list` : `shard holds tensor ${JSON.stringify(t)} that weight_map assigns to ${listedIn}`,
          { tensor: t, shard, listedIn },
          p,
        );
      }
    }
  }
}
