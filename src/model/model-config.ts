import type { ModelLayout } from './layout.js';
import { readSideJsonObject } from '../formats/json-side-file.js';
import { ConfigReader, LIMITS } from './build-graph/config-reader.js';

/** What the side files say about the model; every field is optional because real folders omit them. */
export interface ModelConfig {
  modelType: string | undefined;
  architectures: string[];
  vocabSize: number | undefined;
  hiddenSize: number | undefined;
  numLayers: number | undefined;
  numHeads: number | undefined;
  numKvHeads: number | undefined;
  headDim: number | undefined;
  maxPositions: number | undefined;
  bosTokenId: number | undefined;
  padTokenId: number | undefined;
  /** Ids that end a generation: generation_config, config and genai_config together. */
  eosTokenIds: number[];
  id2label: Record<number, string> | undefined;
  raw: Record<string, unknown>;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const ids = (v: unknown): number[] => (Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : num(v) !== undefined ? [v as number] : []);

/**
 * The first of `keys` that holds a number, as a whole number bounded as the graph builder bounds it
 * (one line naming the file and the key otherwise); a value that is not a number is ignored.
 */
function boundedSizes(obj: Record<string, unknown>, file: string, at: string): (keys: readonly string[], max: number) => number | undefined {
  const reader = new ConfigReader(obj, file, at);
  return (keys, max) => {
    for (const k of keys) if (typeof obj[k] === 'number') return reader.int(k, max);
    return undefined;
  };
}

export async function readModelConfig(layout: ModelLayout): Promise<ModelConfig> {
  const cfg = layout.configPath ? await readSideJsonObject(layout.configPath, 'config') : {};
  // Sizes are bounded as the graph builder bounds them, whatever the layout: beside an ONNX graph the
  // memory pre-check still multiplies them, and `n_layer: 1e9` gave "needs about 47207 TiB of memory"
  // naming neither the file nor the key. A size that is not a number stays ignored, as before.
  const size = boundedSizes(cfg, layout.configPath ?? 'config.json', '');
  const gen = layout.generationConfigPath ? await readSideJsonObject(layout.generationConfigPath, 'config') : {};
  const genai = layout.genaiConfigPath ? await readSideJsonObject(layout.genaiConfigPath, 'config') : {};
  const gm = (genai.model ?? {}) as Record<string, unknown>;
  const gd = (gm.decoder ?? {}) as Record<string, unknown>;
  const genaiFile = layout.genaiConfigPath ?? 'genai_config.json';
  const genaiModel = boundedSizes(gm, genaiFile, 'model.');
  const genaiDecoder = boundedSizes(gd, genaiFile, 'model.decoder.');

  let id2label: Record<number, string> | undefined;
  if (cfg.id2label && typeof cfg.id2label === 'object') {
    id2label = {};
    for (const [k, v] of Object.entries(cfg.id2label as Record<string, unknown>)) {
      if (/^\d+$/.test(k) && typeof v === 'string') id2label[Number(k)] = v;
    }
  }
  // genai_config.json is a fallback only: ORT-genai's builder writes ids that disagree with the tokenizer.
  let eos = new Set([...ids(gen.eos_token_id), ...ids(cfg.eos_token_id)]);
  if (eos.size === 0) eos = new Set(ids(gm.eos_token_id));
  return {
    modelType: typeof cfg.model_type === 'string' ? cfg.model_type : typeof gm.type === 'string' ? gm.type : undefined,
    architectures: Array.isArray(cfg.architectures) ? cfg.architectures.filter((a): a is string => typeof a === 'string') : [],
    vocabSize: size(['vocab_size'], LIMITS.vocab) ?? genaiModel(['vocab_size'], LIMITS.vocab),
    hiddenSize: size(['hidden_size', 'n_embd', 'd_model', 'dim'], LIMITS.width) ?? genaiDecoder(['hidden_size'], LIMITS.width),
    numLayers: size(['num_hidden_layers', 'n_layer', 'n_layers'], LIMITS.layers) ?? genaiDecoder(['num_hidden_layers'], LIMITS.layers),
    numHeads: size(['num_attention_heads', 'n_head', 'n_heads'], LIMITS.heads) ?? genaiDecoder(['num_attention_heads'], LIMITS.heads),
    numKvHeads: size(['num_key_value_heads'], LIMITS.heads) ?? genaiDecoder(['num_key_value_heads'], LIMITS.heads),
    headDim: size(['head_dim'], LIMITS.headDim) ?? genaiDecoder(['head_size'], LIMITS.headDim),
    maxPositions: size(['max_position_embeddings', 'n_positions'], LIMITS.positions) ?? genaiModel(['context_length'], LIMITS.positions),
    bosTokenId: num(gen.bos_token_id) ?? num(cfg.bos_token_id) ?? num(gm.bos_token_id),
    padTokenId: num(gen.pad_token_id) ?? num(cfg.pad_token_id) ?? num(gm.pad_token_id),
    eosTokenIds: [...eos],
    id2label,
    raw: cfg,
  };
}
