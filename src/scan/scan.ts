import { UserError } from '../errors.js';
import { findModelLayout } from '../model/layout.js';
import { loadModel } from '../model/load-model.js';
import { buildPlan } from '../plan/plan.js';
import type { Placement } from '../probes/types.js';
import { listBuiltinPacks, loadPacks, mergePacks } from '../probes/load-pack.js';
import { auditModelFolder } from '../provenance/audit-folder.js';
import type { PinMode } from '../provenance/integrity/pins.js';
import { buildReport } from '../report/build-report.js';
import type { ScanReport } from '../report/schema.js';
import { executePlan } from '../run/execute.js';
import { defaultThreads } from '../model/session.js';
import { scoreTests, selectFindings } from '../score/score-tests.js';

export interface ScanOptions {
  /** Built-in pack names or pack files; default: every built-in pack. */
  packs?: readonly string[] | undefined;
  /** Packs whose baselines replace those of `packs`. */
  baselines?: readonly string[] | undefined;
  placements?: readonly Placement[] | undefined;
  controls?: number | undefined;
  maxNewTokens?: number | undefined;
  fdr?: number | undefined;
  minAttackSuccess?: number | undefined;
  minCategorySize?: number | undefined;
  seed?: number | undefined;
  threads?: number | undefined;
  batchSize?: number | undefined;
  graph?: string | undefined;
  /** Build the graph from config.json + safetensors even when an ONNX graph is present. */
  fromSafetensors?: boolean | undefined;
  frame?: string | undefined;
  /** Trust on first use: pin file, mode and the name the model is pinned under. */
  pins?: { file?: string | undefined; mode: PinMode; name?: string | undefined } | undefined;
  /** Digests or digest lists published by independent sources; all must agree. */
  expect?: readonly string[] | undefined;
  /** An OpenSSF model-signing bundle and the key or CA to check it with. */
  signature?: { path?: string | undefined; publicKeyPem?: string | undefined; trustCertPem?: string | undefined } | undefined;
  /** Limit the number of baselines used (first N), for quick runs. */
  maxBaselines?: number | undefined;
  onProgress?: ((done: number, total: number, phase: string) => void) | undefined;
}

export const SCAN_DEFAULTS = {
  controls: 10,
  maxNewTokens: 32,
  fdr: 0.01,
  minAttackSuccess: 0.5,
  minCategorySize: 8,
  seed: 1,
  batchSize: 64,
} as const;

/** The library entry point behind `trigger-scan <model-dir>`: load → plan → run → score → report. */
export async function scanModel(dir: string, o: ScanOptions = {}): Promise<ScanReport> {
  const startedAt = new Date();
  const settings = {
    seed: o.seed ?? SCAN_DEFAULTS.seed,
    controls: o.controls ?? SCAN_DEFAULTS.controls,
    placements: o.placements ? [...o.placements] : null,
    maxNewTokens: o.maxNewTokens ?? SCAN_DEFAULTS.maxNewTokens,
    fdr: o.fdr ?? SCAN_DEFAULTS.fdr,
    minAttackSuccess: o.minAttackSuccess ?? SCAN_DEFAULTS.minAttackSuccess,
    minCategorySize: o.minCategorySize ?? SCAN_DEFAULTS.minCategorySize,
    batchSize: o.batchSize ?? SCAN_DEFAULTS.batchSize,
    threads: o.threads ?? defaultThreads(),
  };
  if (settings.controls < 1) throw new UserError('E_USAGE', '--controls must be at least 1');
  if (!(settings.fdr > 0 && settings.fdr < 1)) throw new UserError('E_USAGE', '--fdr must be between 0 and 1');

  // Packs first: a typo in a pack should fail before a large model is loaded.
  // Alternative baseline sets (baselines-text, for classifiers) are chosen per model, not merged in.
  const packNames = o.packs?.length ? o.packs : (await listBuiltinPacks()).filter((n) => !n.startsWith('baselines-'));
  let packs = await loadPacks(packNames);
  if (o.baselines?.length) {
    const extra = await loadPacks(o.baselines);
    packs = { ...mergePacks([...packs.packs, ...extra.packs]), baselines: extra.baselines };
  }
  if (o.maxBaselines !== undefined) packs = { ...packs, baselines: packs.baselines.slice(0, o.maxBaselines) };
  if (!packs.triggers.length) throw new UserError('E_USAGE', `no triggers in ${packNames.join(', ')}`);
  if (packs.baselines.length < 5) throw new UserError('E_USAGE', `need at least 5 baseline prompts, got ${packs.baselines.length} (add --pack baselines or --baselines <pack>)`);

  // Layout first for its clear errors (missing folder, no graph); then the file checks, before ORT
  // parses anything: a graph whose external data escapes the folder is never loaded.
  const layout = await findModelLayout(dir, { graph: o.graph, fromSafetensors: o.fromSafetensors });
  const audit = await auditModelFolder(dir, {
    // A graph built from the checkpoint loads none of the folder's ONNX files.
    graphPath: layout.checkpoint ? null : layout.graphPath,
    pins: o.pins ?? { mode: 'accept-new' },
    expect: o.expect ? [...o.expect] : [],
    signature: o.signature,
  });
  if (audit.blocked) throw new UserError('E_UNSAFE_MODEL', `${dir}: refusing to load the graph: ${audit.blockReason ?? 'a critical file finding'}`, dir);
  if (audit.failedChecks.length) {
    throw new UserError('E_PROVENANCE', `${dir}: provenance check failed: ${audit.failedChecks.join('; ')}`, dir);
  }
  const manifest = audit.manifest;
  const model = await loadModel(dir, { graph: o.graph, fromSafetensors: o.fromSafetensors, threads: settings.threads, frame: o.frame });
  try {
    // Chat prompts mean nothing to a text classifier; it gets review-like sentences of both labels.
    if (model.io.task === 'sequence-classification' && !o.baselines?.length && packs.baselines.every((b) => b.pack === 'baselines')) {
      const text = await loadPacks(['baselines-text']);
      packs = { ...mergePacks([...packs.packs.filter((p) => p.name !== 'baselines'), ...text.packs]) };
      if (o.maxBaselines !== undefined) packs = { ...packs, baselines: packs.baselines.slice(0, o.maxBaselines) };
    }
    const plan = buildPlan(packs, model.tokenizer, model.format, model.embedding?.rows ?? Number.MAX_SAFE_INTEGER, {
      seed: settings.seed,
      controls: settings.controls,
      placements: o.placements,
      input: model.io.task === 'causal-lm' ? 'chat' : 'text',
    });
    if (!plan.tests.length) throw new UserError('E_USAGE', `no trigger allows the placements ${o.placements?.join(', ')}`);
    const exec = await executePlan(model, plan, { batchSize: settings.batchSize, maxNewTokens: settings.maxNewTokens, onProgress: o.onProgress });
    const results = scoreTests(plan, exec, packs.detectors, settings, model.io.task === 'causal-lm');
    const findings = selectFindings(results);
    return buildReport({ dirArg: dir, model, manifest, audit, packs, plan, exec, results, findings, settings, startedAt, finishedAt: new Date() });
  } finally {
    await model.release();
  }
}
