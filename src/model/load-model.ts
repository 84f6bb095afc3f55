import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { UserError } from '../errors.js';
import { embeddingRows, parseOnnx, readOnnx, type OnnxGraphInfo } from '../formats/onnx.js';
import { buildGraph, type BuiltModel } from './build-graph/index.js';
import { detectIoSignature, type IoSignature, type ValueMeta } from './io-signature.js';
import { findModelLayout, type ModelLayout } from './layout.js';
import { readModelConfig, type ModelConfig } from './model-config.js';
import { chatTemplateFormat, plainFormat, type PromptFormat } from './prompt-format.js';
import { createSession, defaultThreads } from './session.js';
import { TextTokenizer } from './tokenizer.js';

export interface LoadOptions {
  graph?: string | undefined;
  /** Build the graph from config.json + safetensors even when an ONNX graph is present. */
  fromSafetensors?: boolean | undefined;
  /** Ops a built graph uses (see DecoderOptions.ops); default 'plain'. */
  graphOps?: 'plain' | 'fused' | undefined;
  threads?: number | undefined;
  /** A plain frame such as "User: {prompt}\nAssistant:" instead of the tokenizer's chat template. */
  frame?: string | undefined;
  /** Ignore tokenizer_config.json's chat template even if there is one. */
  noChatTemplate?: boolean | undefined;
}

/** Everything static about a model folder, known without creating an ORT session. */
export interface ModelDescription {
  layout: ModelLayout;
  config: ModelConfig;
  tokenizer: TextTokenizer;
  graph: OnnxGraphInfo;
  /** Set when the graph was built from the checkpoint (layout `safetensors`). */
  built: BuiltModel | undefined;
  /** Rows of the token-embedding table and where that number came from. */
  embedding: { rows: number; source: string } | undefined;
  format: PromptFormat;
}

export interface LoadedModel extends ModelDescription {
  session: InferenceSession;
  /** ORT intra-op threads of the session (and of any helper session the run stage opens). */
  threads: number;
  io: IoSignature;
  padId: number;
  eosIds: ReadonlySet<number>;
  release(): Promise<void>;
}

function embeddingOf(graph: OnnxGraphInfo, config: ModelConfig): ModelDescription['embedding'] {
  const fromGraph = embeddingRows(graph);
  if (fromGraph) return { rows: fromGraph.rows, source: `initializer ${fromGraph.tensor}` };
  const logits = graph.outputs.find((o) => o.name === 'logits');
  const last = logits?.dims[logits.dims.length - 1];
  if (logits && logits.dims.length === 3 && typeof last === 'number' && last > 0) return { rows: last, source: 'logits output width' };
  if (config.vocabSize) return { rows: config.vocabSize, source: 'config.json vocab_size' };
  return undefined;
}

/** Read a model folder's files and check that they fit together, without running anything. */
export async function describeModel(dir: string, opts: LoadOptions = {}): Promise<ModelDescription> {
  const layout = await findModelLayout(dir, { graph: opts.graph, fromSafetensors: opts.fromSafetensors });
  const config = await readModelConfig(layout);
  const tokenizer = await TextTokenizer.load(layout.tokenizerPath, layout.tokenizerConfigPath);
  const built = layout.checkpoint ? await buildGraph(layout.dir, layout.configPath!, layout.checkpoint, config.raw, { ops: opts.graphOps }) : undefined;
  const graph = built ? parseOnnx(built.bytes, layout.checkpoint!) : await readOnnx(layout.graphPath);
  const embedding = embeddingOf(graph, config);
  // A tokenizer that can emit ids past the embedding table makes ORT fail deep inside a kernel
  // (or, worse, read out of bounds in a custom op); refuse before running.
  if (embedding && tokenizer.info.vocabSize > embedding.rows) {
    throw new UserError(
      'E_VOCAB_MISMATCH',
      `${layout.tokenizerPath}: tokenizer has ${tokenizer.info.vocabSize} ids but the model's embedding has ${embedding.rows} rows (${embedding.source}); wrong tokenizer for ${path.relative(layout.dir, layout.graphPath)}`,
      layout.tokenizerPath,
    );
  }
  const tplFile = layout.tokenizerConfigPath ?? layout.tokenizerPath;
  const format =
    opts.frame !== undefined || opts.noChatTemplate || !tokenizer.info.chatTemplate
      ? plainFormat(opts.frame)
      : chatTemplateFormat(tokenizer.info.chatTemplate, tokenizer.info, tplFile);
  return { layout, config, tokenizer, graph, built, embedding, format };
}

export async function loadModel(dir: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const desc = await describeModel(dir, opts);
  const source = desc.built ? { bytes: desc.built.bytes, externalDataFolder: desc.built.externalDataFolder, label: desc.layout.graphPath } : desc.layout.graphPath;
  const threads = opts.threads ?? defaultThreads();
  const session = await createSession(source, { threads });
  try {
    const meta = (vs: typeof session.inputMetadata): ValueMeta[] =>
      vs.map((v) => (v.isTensor ? { name: v.name, type: v.type, shape: v.shape } : { name: v.name, type: 'non-tensor', shape: [] }));
    const { numKvHeads, numHeads, hiddenSize, headDim } = desc.config;
    const io = detectIoSignature(meta(session.inputMetadata), meta(session.outputMetadata), desc.layout.graphPath, {
      numHeads: numKvHeads ?? numHeads,
      headDim: headDim ?? (hiddenSize && numHeads ? hiddenSize / numHeads : undefined),
    });
    const t = desc.tokenizer.info;
    const eosIds = new Set<number>([...desc.config.eosTokenIds, ...(t.eosId !== undefined ? [t.eosId] : [])]);
    // Only ids the embedding can hold are usable as padding (ORT's GPT-2 export names 98 in a 1000-row model, fine; others do not).
    const rows = desc.embedding?.rows ?? Number.MAX_SAFE_INTEGER;
    const padId = [t.padId, desc.config.padTokenId, t.eosId, ...eosIds, 0].find((x): x is number => x !== undefined && x < rows) ?? 0;
    return {
      ...desc,
      session,
      threads,
      io,
      padId,
      eosIds: new Set([...eosIds].filter((x) => x < rows)),
      release: () => session.release(),
    };
  } catch (err) {
    await session.release();
    throw err;
  }
}
