/**
 * The one `prepare` step every command starts with: probe packs (so a typo fails before a large model
 * loads), the model folder's layout, the file and provenance audit (before ONNX Runtime parses
 * anything), then the model itself and its task profile. The caller must `release()`.
 */
import { UserError } from '../errors.js';
import { checkCheckpoint, type CheckedCheckpoint } from '../model/build-graph/index.js';
import { findModelLayout, type ModelLayout } from '../model/layout.js';
import { loadModel, type LoadedModel } from '../model/load-model.js';
import { defaultThreads } from '../model/session.js';
import { listBuiltinPacks, loadPacks, mergePacks } from '../probes/load-pack.js';
import type { PackSet } from '../probes/types.js';
import { checkPackPins, packPinFile, type PackPinCheck, type PackPinStatus } from '../probes/pack-pins.js';
import { auditBeforeLoad, type AuditFolderOptions, type FolderAudit, type SignatureOptions } from '../provenance/audit-folder.js';
import type { PinMode } from '../provenance/integrity/pins.js';
import { taskProfile, type TaskProfile } from '../run/tasks.js';
import { checkMemory, memoryLimit, type MemoryCheck } from '../run/memory.js';
import { LIMITS } from '../model/build-graph/config-reader.js';
import { readModelConfig } from '../model/model-config.js';
import path from 'node:path';

export interface ProvenanceOptions {
  /** Trust on first use: pin file, mode and the name the model is pinned under. Default: off. */
  pins?: { file?: string | undefined; mode: PinMode; name?: string | undefined } | undefined;
  /** Digests or digest lists published by independent sources; all must agree. */
  expect?: readonly string[] | undefined;
  /** An OpenSSF model-signing bundle and the key or CA to check it with. */
  signature?: SignatureOptions | undefined;
  /** Training provenance, k-of-n digest sources and the trust policy, passed to the folder audit as they are. */
  training?: AuditFolderOptions['training'];
  expectAgree?: AuditFolderOptions['expectAgree'];
  policy?: AuditFolderOptions['policy'];
}

export interface PrepareOptions extends ProvenanceOptions {
  /** Built-in pack names or pack files; default: every built-in pack. */
  packs?: readonly string[] | undefined;
  /** Packs whose baselines replace those of `packs`. */
  baselines?: readonly string[] | undefined;
  /** Limit the number of baselines used (first N), for quick runs. */
  maxBaselines?: number | undefined;
  /** Pack triggers are not wanted (discovery only): packs still give baselines and detectors. */
  packTriggers?: boolean | undefined;
  graph?: string | undefined;
  /** Build the graph from config.json + safetensors even when an ONNX graph is present. */
  fromSafetensors?: boolean | undefined;
  frame?: string | undefined;
  threads?: number | undefined;
  /** The memory pre-check, before the model loads; skipped when absent. */
  memory?: MemoryOptions | undefined;
  /** Something the operator should know that does not stop the scan (one line, no newline). */
  onNotice?: ((message: string) => void) | undefined;
}

export interface MemoryOptions {
  batchSize: number;
  maxNewTokens: number;
  controls: number;
  /** Discovery's inversion (rows extended at once, tokens per row), when that stage runs. */
  discovery?: { rows: number; tokens: number } | undefined;
  /** --max-memory: the limit to check against instead of what the machine says. */
  limitBytes?: number | undefined;
}

export interface Prepared {
  dir: string;
  layout: ModelLayout;
  audit: FolderAudit;
  model: LoadedModel;
  profile: TaskProfile;
  packs: PackSet;
  threads: number;
  /** The batch size the memory pre-check allows (the one asked for, or lower). */
  batchSize: number | undefined;
  /** The pre-check's estimate, when it ran. */
  memory: MemoryCheck | undefined;
  /** Trust-on-first-use status of each pack (by name). */
  packPins: ReadonlyMap<string, PackPinStatus>;
  /** The pack pin check, whose first sights the scan records once it has succeeded. */
  packPinCheck: PackPinCheck | undefined;
  release(): Promise<void>;
}

async function choosePacks(o: PrepareOptions): Promise<{ packs: PackSet; names: readonly string[] }> {
  // Alternative baseline sets (baselines-text for classifiers, baselines-search for discovery) are chosen
  // per model and per stage, not merged into the default.
  const names = o.packs?.length ? o.packs : (await listBuiltinPacks()).filter((n) => !n.startsWith('baselines-'));
  let packs = await loadPacks(names);
  if (o.baselines?.length) {
    const extra = await loadPacks(o.baselines);
    packs = { ...mergePacks([...packs.packs, ...extra.packs]), baselines: extra.baselines };
  }
  return { packs, names };
}

function limitBaselines(packs: PackSet, max: number | undefined): PackSet {
  return max === undefined ? packs : { ...packs, baselines: packs.baselines.slice(0, max) };
}

/**
 * The audit gate (`auditBeforeLoad`) with the pipeline's provenance options: a blocked graph or a
 * failed pin, expectation or signature stops here, before ORT. Nothing is pinned yet: the scan
 * commits the pin once it has succeeded.
 */
export async function auditGate(dir: string, graphPath: string | null | undefined, o: ProvenanceOptions): Promise<FolderAudit> {
  return auditBeforeLoad(dir, {
    ...(graphPath !== undefined ? { graphPath } : {}),
    pins: o.pins ?? { mode: 'off' },
    expect: o.expect ? [...o.expect] : [],
    signature: o.signature,
    training: o.training,
    expectAgree: o.expectAgree,
    policy: o.policy,
  });
}

export async function prepare(dir: string, o: PrepareOptions): Promise<Prepared> {
  const chosen = await choosePacks(o);
  // Pinned like the model, before anything heavy: a community pack that changed under the same
  // version is a warning (recorded in the report), an error with --pin strict.
  const pins = o.pins?.file ? await checkPackPins(chosen.packs.packs, { file: packPinFile(o.pins.file), mode: o.pins.mode }) : undefined;
  for (const w of pins?.warnings ?? []) o.onNotice?.(w);
  const packPins = pins?.statuses ?? new Map<string, PackPinStatus>(chosen.packs.packs.map((p) => [p.name, p.builtin ? 'builtin' : 'off']));
  let packs = limitBaselines(chosen.packs, o.maxBaselines);
  if (o.packTriggers === false) packs = { ...packs, triggers: [] };
  else if (!packs.triggers.length) throw new UserError('E_USAGE', `no triggers in ${chosen.names.join(', ')}`);
  const tooFew = (p: PackSet) => p.baselines.length < 5;
  const tooFewError = (p: PackSet) => new UserError('E_USAGE', `need at least 5 baseline prompts, got ${p.baselines.length} (add --pack baselines or --baselines <pack>)`);
  // Before the model loads: a classifier's own set replaces the chat baselines under the same limit,
  // so too few now means too few then.
  if (tooFew(packs)) throw tooFewError(packs);

  // Layout first for its clear errors (missing folder, no graph); then the file checks, before ORT
  // parses anything: a graph whose external data escapes the folder is never loaded.
  const layout = await findModelLayout(dir, { graph: o.graph, fromSafetensors: o.fromSafetensors });
  // A graph built from the checkpoint loads none of the folder's ONNX files.
  const audit = await auditGate(dir, layout.checkpoint ? null : layout.graphPath, o);
  const threads = o.threads ?? defaultThreads();
  // A checkpoint's config.json and tensors are checked before the memory estimate reads its numbers.
  const checked = layout.checkpoint ? await checkCheckpoint(layout.dir, layout.configPath!, layout.checkpoint, (await readModelConfig(layout)).raw) : undefined;
  const memory = o.memory ? await precheckMemory(dir, layout, audit, packs, o.memory, checked) : undefined;
  if (memory?.notice) o.onNotice?.(memory.notice);
  const model = await loadModel(dir, { graph: o.graph, fromSafetensors: o.fromSafetensors, threads, frame: o.frame });
  try {
    const profile = taskProfile(model);
    // The default chat baselines mean nothing to a classifier: swap in the task's own set.
    if (!o.baselines?.length && profile.baselinePack !== 'baselines' && packs.baselines.every((b) => b.pack === 'baselines')) {
      const own = await loadPacks([profile.baselinePack]);
      const merged = mergePacks([...packs.packs.filter((p) => p.name !== 'baselines'), ...own.packs]);
      packs = limitBaselines(o.packTriggers === false ? { ...merged, triggers: [] } : merged, o.maxBaselines);
    }
    if (tooFew(packs)) throw tooFewError(packs);
    if (pins?.warnings.length) packs = { ...packs, warnings: [...packs.warnings, ...pins.warnings] };
    return { dir, layout, audit, model, profile, packs, threads, batchSize: memory?.batchSize ?? o.memory?.batchSize, memory, packPins, packPinCheck: pins, release: () => model.release() };
  } catch (err) {
    await model.release();
    throw err;
  }
}

const isWeightFile = (rel: string, graphRel: string): boolean =>
  rel === graphRel || rel.startsWith(`${graphRel}.`) || rel.startsWith(`${graphRel}_`) || (path.posix.dirname(rel) === path.posix.dirname(graphRel) && /\.(data|onnx_data|bin)$/.test(rel));

/**
 * The weights as ONNX Runtime will hold them, from file sizes and headers (nothing is loaded): an
 * ONNX graph and its external data twice (the engine pre-packs matrix weights beside the
 * originals); a checkpoint's tensors as float32, whatever they are stored in (the built graph
 * widens F16/BF16), counted from its checked headers rather than config.json's torch_dtype, which
 * may be missing or wrong.
 */
function weightBytes(layout: ModelLayout, audit: FolderAudit, checked: CheckedCheckpoint | undefined): number {
  if (checked) return 4 * [...checked.plan.tensors.required.values()].reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
  const files = audit.manifest.files;
  const graphRel = path.relative(layout.dir, layout.graphPath).split(path.sep).join('/');
  return 2 * files.filter((f) => isWeightFile(f.path, graphRel)).reduce((a, f) => a + f.size, 0);
}

/** An upper bound on the probes a plan of these packs holds (as if no two tests shared controls). */
function plannedProbes(packs: PackSet, controls: number): number {
  const tests = packs.triggers.reduce((a, t) => a + Math.max(1, t.placements.length) * (t.control !== undefined ? 2 : 1), 0);
  return packs.baselines.length * tests * (1 + controls);
}

async function precheckMemory(dir: string, layout: ModelLayout, audit: FolderAudit, packs: PackSet, m: MemoryOptions, checked: CheckedCheckpoint | undefined): Promise<MemoryCheck> {
  const config = await readModelConfig(layout);
  const intermediate = [config.raw.intermediate_size, config.raw.n_inner].find((v): v is number => typeof v === 'number' && v > 0 && v <= LIMITS.width);
  const limit = m.limitBytes ? { bytes: m.limitBytes, source: '--max-memory' } : memoryLimit();
  return checkMemory(
    dir,
    {
      weightBytes: weightBytes(layout, audit, checked),
      config: { ...config, intermediateSize: intermediate },
      vocab: config.vocabSize,
      baselines: packs.baselines.length,
      maxNewTokens: m.maxNewTokens,
      probes: plannedProbes(packs, m.controls),
      // Discovery runs on text generators only.
      discovery: config.architectures.some((a) => /ForSequenceClassification$/.test(a)) ? undefined : m.discovery,
      runtimeBytes: process.memoryUsage().rss,
    },
    m.batchSize,
    limit,
  );
}
