import path from 'node:path';
import { UserError } from '../../errors.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { ConfigReader } from './config-reader.js';
import { buildDecoder, WEIGHT_ELEM, type DecoderOptions } from './decoder.js';
import { familyFor, SUPPORTED_MODEL_TYPES } from './families/index.js';
import type { FamilyPlan } from './spec.js';

export { SUPPORTED_MODEL_TYPES } from './families/index.js';
export { findCheckpoint, INDEX_FILE, SINGLE_FILE } from './checkpoint.js';

/** What was built, for `inspect` and the report. */
export interface BuildInfo {
  family: string;
  modelType: string;
  /** Checkpoint dtypes with how many tensors each (read as stored; F16/BF16 widened by onnxruntime at load). */
  dtypes: Record<string, number>;
  parameters: number;
  layers: number;
  shards: string[];
  notes: string[];
  nodes: number;
  buildMs: number;
  ops: 'plain' | 'fused';
}

export interface BuiltModel {
  /** The ONNX ModelProto; its weights are external data in the checkpoint's shards. */
  bytes: Uint8Array;
  /** The folder onnxruntime resolves the external data against. */
  externalDataFolder: string;
  info: BuildInfo;
}

const shapeStr = (s: readonly number[]) => `[${s.join(', ')}]`;

/**
 * Compare the checkpoint with what config.json implies, before onnxruntime sees anything: every
 * required tensor present with the exact shape and a float dtype, nothing unexplained besides.
 */
function checkTensors(ckpt: Checkpoint, plan: FamilyPlan, configFile: string): void {
  const { required, optional } = plan.tensors;
  const rel = (f: string) => path.relative(ckpt.dir, f) || f;
  for (const [name, want] of required) {
    const have = ckpt.tensors.get(name);
    if (!have) {
      throw new UserError('E_CHECKPOINT', `${ckpt.entry}: tensor ${JSON.stringify(name)} is missing (${configFile} describes a ${plan.spec.modelType} model with ${plan.spec.layers.length} layers)`, ckpt.entry);
    }
  }
  for (const t of ckpt.tensors.values()) {
    const want = required.get(t.name) ?? optional.get(t.name);
    if (!want) {
      if (plan.tensors.isIgnored(t.name)) continue;
      throw new UserError('E_CHECKPOINT', `${t.file}: unexpected tensor ${JSON.stringify(t.name)} (not part of the ${plan.spec.modelType} model ${configFile} describes)`, t.file);
    }
    if (t.shape.length !== want.shape.length || t.shape.some((d, i) => d !== want.shape[i])) {
      throw new UserError(
        'E_CHECKPOINT',
        `${t.file}: tensor ${JSON.stringify(t.name)} is ${shapeStr(t.shape)} but ${configFile} implies ${shapeStr(want.shape)} ${want.why}`,
        t.file,
      );
    }
    if (!(t.dtype in WEIGHT_ELEM)) {
      throw new UserError('E_CHECKPOINT', `${t.file}: tensor ${JSON.stringify(t.name)} has dtype ${t.dtype}; graphs are built from ${Object.keys(WEIGHT_ELEM).join(', ')} only (in ${rel(t.file)})`, t.file);
    }
  }
}

/** A checkpoint that agrees with its config.json: the family's plan and the validated shards. */
export interface CheckedCheckpoint {
  modelType: string;
  plan: FamilyPlan;
  ckpt: Checkpoint;
}

/**
 * Every static check a build makes, without building: config.json read with bounds, a family for
 * its model_type, every shard header through the hardened reader, every tensor against the config.
 * The scan runs it before the memory pre-check, whose estimate would otherwise read the numbers of
 * a hostile config.json (`num_hidden_layers: 1e9`) before anything had checked them.
 */
export async function checkCheckpoint(dir: string, configPath: string, entry: string, raw: Record<string, unknown>): Promise<CheckedCheckpoint> {
  const cfg = new ConfigReader(raw, configPath);
  const modelType = cfg.str('model_type');
  const family = familyFor(modelType);
  if (!family) {
    throw new UserError('E_UNSUPPORTED_MODEL', `${configPath}: model_type ${JSON.stringify(modelType)} has no graph builder; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`, configPath);
  }
  const ckpt = await openCheckpoint(dir, entry);
  const plan = family.plan(cfg, new Set(ckpt.tensors.keys()));
  checkTensors(ckpt, plan, path.basename(configPath));
  return { modelType, plan, ckpt };
}

/**
 * Build the ONNX graph of a causal LM from config.json and its safetensors checkpoint. Nothing is
 * written anywhere: the graph is returned as bytes and reads the weights straight from the shards.
 */
export async function buildGraph(dir: string, configPath: string, entry: string, raw: Record<string, unknown>, opts: DecoderOptions = {}): Promise<BuiltModel> {
  const started = performance.now();
  const { modelType, plan, ckpt } = await checkCheckpoint(dir, configPath, entry, raw);
  // The engine feeds num_logits_to_keep whenever a graph declares it.
  const built = buildDecoder(plan.spec, ckpt, { logitsToKeep: true, ...opts });
  const dtypes: Record<string, number> = {};
  for (const name of [...plan.tensors.required.keys()]) {
    const d = ckpt.tensors.get(name)!.dtype;
    dtypes[d] = (dtypes[d] ?? 0) + 1;
  }
  return {
    bytes: built.bytes,
    externalDataFolder: ckpt.externalRoot,
    info: {
      family: plan.spec.family,
      modelType,
      dtypes,
      parameters: built.parameters,
      layers: plan.spec.layers.length,
      shards: ckpt.shards.map((s) => path.relative(dir, s.file)),
      notes: plan.spec.notes,
      nodes: built.nodes,
      buildMs: performance.now() - started,
      ops: opts.ops ?? 'plain',
    },
  };
}
