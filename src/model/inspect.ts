import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BuildInfo } from './build-graph/index.js';
import type { IoSignature } from './io-signature.js';
import { auditBeforeLoad } from '../provenance/audit-folder.js';
import { findModelLayout } from './layout.js';
import { loadModel, type LoadOptions } from './load-model.js';

export interface InspectReport {
  dir: string;
  layout: string;
  graph: string;
  otherGraphs: string[];
  modelType: string | undefined;
  architectures: string[];
  task: IoSignature['task'];
  producer: string;
  irVersion: number;
  opsets: { domain: string; version: number }[];
  inputs: { name: string; type: string; shape: (number | string)[] }[];
  outputs: { name: string; type: string; shape: (number | string)[] }[];
  kvCache: { kind: string; layers: number; heads: number; headDim: number; dtype: string } | null;
  idsType: string;
  logitsType: string;
  labels: Record<number, string> | null;
  vocab: { tokenizer: number; embeddingRows: number | null; embeddingSource: string | null; configVocabSize: number | null };
  parameters: number;
  /** How the graph was built from config.json + safetensors; null when an ONNX graph was loaded. */
  built: Omit<BuildInfo, 'nodes'> | null;
  externalDataFiles: string[];
  promptFormat: string;
  files: { path: string; bytes: number }[];
}

async function listFiles(root: string, rel = ''): Promise<{ path: string; bytes: number }[]> {
  const out: { path: string; bytes: number }[] = [];
  const entries = await readdir(path.join(root, rel), { withFileTypes: true });
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(root, r)));
    else if (e.isFile()) out.push({ path: r, bytes: (await stat(path.join(root, r))).size });
  }
  return out;
}

/**
 * What a user needs to know about a model folder before scanning it; loads the graph to prove it
 * runs. The folder is audited first like every folder a command reads (no symlinks out of it, no
 * blocked graph), and nothing is pinned.
 */
export async function inspectModel(dir: string, opts: LoadOptions = {}): Promise<InspectReport> {
  const layout = await findModelLayout(dir, { graph: opts.graph, fromSafetensors: opts.fromSafetensors });
  // A graph built from the checkpoint loads none of the folder's ONNX files.
  await auditBeforeLoad(dir, { graphPath: layout.checkpoint ? null : layout.graphPath, pins: { mode: 'off' } });
  const m = await loadModel(dir, { ...opts, threads: opts.threads ?? 1 });
  try {
    const meta = (vs: typeof m.session.inputMetadata) =>
      vs.map((v) => (v.isTensor ? { name: v.name, type: v.type, shape: [...v.shape] } : { name: v.name, type: 'non-tensor', shape: [] }));
    const kv = m.io.kv;
    return {
      dir: m.layout.dir,
      layout: m.layout.layout,
      graph: path.relative(m.layout.dir, m.layout.graphPath).split(path.sep).join('/'),
      otherGraphs: m.layout.otherGraphs,
      modelType: m.config.modelType,
      architectures: m.config.architectures,
      task: m.io.task,
      producer: `${m.graph.producerName} ${m.graph.producerVersion}`.trim(),
      irVersion: m.graph.irVersion,
      opsets: m.graph.opsets,
      inputs: meta(m.session.inputMetadata),
      outputs: meta(m.session.outputMetadata),
      kvCache: kv ? { kind: kv.kind, layers: kv.layers, heads: kv.heads, headDim: kv.headDim, dtype: kv.dtype } : null,
      idsType: m.io.inputIds.dtype,
      logitsType: m.io.logits.dtype,
      labels: m.io.task === 'sequence-classification' ? (m.config.id2label ?? null) : null,
      vocab: {
        tokenizer: m.tokenizer.info.vocabSize,
        embeddingRows: m.embedding?.rows ?? null,
        embeddingSource: m.embedding?.source ?? null,
        configVocabSize: m.config.vocabSize ?? null,
      },
      parameters: m.built?.info.parameters ?? m.graph.parameterCount,
      built: m.built ? (({ nodes: _nodes, ...rest }) => rest)(m.built.info) : null,
      externalDataFiles: m.built ? m.built.info.shards : [...new Set(m.graph.initializers.flatMap((t) => (t.external ? [t.external.location] : [])))],
      promptFormat: m.format.description,
      files: await listFiles(m.layout.dir),
    };
  } finally {
    await m.release();
  }
}
