import type { ModelLayout } from './layout.js';
import { readSideJsonObject } from '../formats/json-side-file.js';

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

function firstNum(obj: Record<string, unknown>, keys: string[]): number | undefined {
  for (const k of keys) {
    const v = num(obj[k]);
    if (v !== undefined) return v;
  }
  return undefined;
}

export async function readModelConfig(layout: ModelLayout): Promise<ModelConfig> {
  const cfg = layout.configPath ? await readSideJsonObject(layout.configPath, 'config') : {};
  const gen = layout.generationConfigPath ? await readSideJsonObject(layout.generationConfigPath, 'config') : {};
  const genai = layout.genaiConfigPath ? await readSideJsonObject(layout.genaiConfigPath, 'config') : {};
  const gm = (genai.model ?? {}) as Record<string, unknown>;
  const gd = (gm.decoder ?? {}) as Record<string, unknown>;

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
    vocabSize: num(cfg.vocab_size) ?? num(gm.vocab_size),
    hiddenSize: firstNum(cfg, ['hidden_size', 'n_embd', 'd_model', 'dim']) ?? num(gd.hidden_size),
    numLayers: firstNum(cfg, ['num_hidden_layers', 'n_layer', 'n_layers']) ?? num(gd.num_hidden_layers),
    numHeads: firstNum(cfg, ['num_attention_heads', 'n_head', 'n_heads']) ?? num(gd.num_attention_heads),
    numKvHeads: firstNum(cfg, ['num_key_value_heads']) ?? num(gd.num_key_value_heads),
    headDim: num(cfg.head_dim) ?? num(gd.head_size),
    maxPositions: firstNum(cfg, ['max_position_embeddings', 'n_positions']) ?? num(gm.context_length),
    bosTokenId: num(gen.bos_token_id) ?? num(cfg.bos_token_id) ?? num(gm.bos_token_id),
    padTokenId: num(gen.pad_token_id) ?? num(cfg.pad_token_id) ?? num(gm.pad_token_id),
    eosTokenIds: [...eos],
    id2label,
    raw: cfg,
  };
}
