import path from 'node:path';
import { UserError } from '../../errors.js';
import { finding } from '../../formats/finding.js';
import type { Finding } from '../../formats/finding.js';
import { readSideJson } from '../../formats/json-side-file.js';
import type { Manifest } from '../integrity/manifest.js';
import type { AuditContext } from './check.js';
import { auditOnnx } from './onnx-audit.js';
import type { OnnxAudit } from './onnx-audit.js';

const CONFIG_FILES = new Set(['config.json', 'generation_config.json', 'tokenizer_config.json', 'genai_config.json']);
const GRAPH_PREFERENCE = ['model.onnx', 'onnx/model.onnx', 'decoder_model_merged.onnx', 'onnx/decoder_model_merged.onnx', 'past.onnx'];

/** Token ids config.json (and generation_config.json) declare, with the key that declares them. */
export function specialIds(configs: unknown[]): Map<number, string> {
  const out = new Map<number, string>();
  const walk = (o: unknown, prefix: string, depth: number): void => {
    if (depth > 3 || o === null || typeof o !== 'object' || Array.isArray(o)) return;
    for (const [k, v] of Object.entries(o)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (/token_(id|index)s?$|_token_ids?$/.test(k)) {
        for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'number' && Number.isInteger(x) && !out.has(x)) out.set(x, key);
      } else if (v && typeof v === 'object') walk(v, key, depth + 1);
    }
  };
  for (const c of configs) walk(c, '', 0);
  return out;
}

/** id → token text from a tokenizer.json, for messages. */
function tokenTexts(tok: unknown): Map<number, string> {
  const out = new Map<number, string>();
  const m = (tok as { model?: { vocab?: unknown } } | null)?.model?.vocab;
  if (Array.isArray(m)) m.forEach((e, i) => Array.isArray(e) && typeof e[0] === 'string' && out.set(i, e[0]));
  else if (m && typeof m === 'object') for (const [t, id] of Object.entries(m)) if (typeof id === 'number') out.set(id, t);
  const added = (tok as { added_tokens?: unknown } | null)?.added_tokens;
  if (Array.isArray(added)) for (const a of added) if (a && typeof a.id === 'number' && typeof a.content === 'string') out.set(a.id, a.content);
  return out;
}

function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= f());
}

/**
 * The shared context of one folder audit; `graphPath` (absolute or relative to the folder) is the
 * graph the caller will load, null when it loads none (a graph built from safetensors); a
 * UserError when it is not a file of the folder.
 */
export function createAuditContext(manifest: Manifest, graphPath?: string | null): AuditContext {
  const dir = manifest.dir;
  const files = manifest.files.map((f) => f.path);
  const abs = (rel: string): string => path.join(dir, ...rel.split('/'));
  const snap = manifest.hfSnapshot;
  const followedLinks: ReadonlyMap<string, string> = new Map(snap ? manifest.files.filter((f) => f.blob).map((f) => [abs(f.path), path.join(snap.blobsDir, (f.blob as { name: string }).name)]) : []);
  const graphs = files.filter((f) => /\.onnx$/i.test(f));
  let mainGraph: string | undefined;
  if (typeof graphPath === 'string') {
    // The graph to load is a file of the audited folder, never a path that leads out of it.
    const abs = path.resolve(dir, graphPath);
    mainGraph = path.relative(dir, abs).split(path.sep).join('/');
    if (mainGraph === '' || mainGraph.startsWith('../') || mainGraph === '..' || path.isAbsolute(mainGraph)) {
      throw new UserError('E_NO_GRAPH', `${graphPath}: --graph must name a file inside the model folder ${dir}`, graphPath);
    }
    if (!files.includes(mainGraph)) throw new UserError('E_NO_GRAPH', `${abs}: graph file not found in the model folder`, abs);
    if (!graphs.includes(mainGraph)) graphs.push(mainGraph);
  } else if (graphPath === undefined) {
    mainGraph = GRAPH_PREFERENCE.find((p) => graphs.includes(p)) ?? graphs[0];
  }

  const configs = once(async () => {
    const values: unknown[] = [];
    const findings: Finding[] = [];
    // Every config file a loader may pick (they are looked up next to the graph too), read as the loader reads it.
    for (const rel of files.filter((f) => CONFIG_FILES.has(path.posix.basename(f)))) {
      const c = await readSideJson(abs(rel), 'config');
      if (!c.ok) findings.push(finding('config.unreadable', 'high', abs(rel), `${abs(rel)}: ${c.error}`));
      else if (rel === 'config.json' || rel === 'generation_config.json') values.push(c.value);
    }
    return { values, findings };
  });

  const tokenizer = once(async () => {
    const rel = files.includes('tokenizer.json') ? 'tokenizer.json' : files.find((f) => path.posix.basename(f) === 'tokenizer.json');
    if (!rel) return undefined;
    const t = await readSideJson(abs(rel), 'tokenizer');
    if (!t.ok) return { rel, texts: new Map<number, string>(), findings: [finding('tokenizer.unreadable', 'high', abs(rel), `${abs(rel)}: ${t.error}`)] };
    return { rel, value: t.value, texts: tokenTexts(t.value), findings: [] };
  });

  const onnxAudits = once(async () => {
    const special = specialIds((await configs()).values);
    const texts = (await tokenizer())?.texts ?? new Map<number, string>();
    const out: OnnxAudit[] = [];
    for (const g of graphs) {
      out.push(await auditOnnx(path.resolve(dir, g), { modelDir: dir, followedLinks, specialTokenIds: special, tokenText: (id) => texts.get(id), withInfo: g === mainGraph }));
    }
    return out;
  });

  return { dir, manifest, files, abs, followedLinks, mainGraph, graphs, configs, tokenizer, onnxAudits };
}
