/**
 * `trigger-scan <model-dir>`: prepare → discover → plan → run (in work units) → score → verdict →
 * report. `hunt` composes the same stages (src/pipeline/hunt.ts), `merge` the last two
 * (src/pipeline/merge.ts); nothing here is specific to one command.
 */
import path from 'node:path';
import { UserError } from '../errors.js';
import { ResultsLogWriter, readResultsLog, RESULTS_LOG, RESULTS_LOG_FORMAT, type HeaderRecord } from '../jobs/results-log.js';
import { buildPlan, type ScanPlan } from '../plan/plan.js';
import { shardUnits, type Shard } from '../plan/units.js';
import type { PackSet, Placement } from '../probes/types.js';
import { commitPackPins } from '../probes/pack-pins.js';
import { commitPin } from '../provenance/integrity/pins.js';
import { reportContext } from '../report/build-report.js';
import { makeFolder } from '../report/output-folder.js';
import type { ScanReport } from '../report/schema.js';
import type { MemoryCheck } from '../run/memory.js';
import type { CleanReferences, EngineSwitches, Execution } from '../run/runner.js';
import type { DiscoveryInfo, Screening, TestResult } from '../score/score-tests.js';
import type { ModelVerdict } from '../score/verdict.js';
import { VERSION } from '../version.js';
import { INVERSION } from '../discover/discover.js';
import { DISCOVERY_DEFAULTS, runDiscovery, type DiscoveryOptions } from './discovery.js';
import { executeUnits, type UnitResult } from './execute.js';
import { effectiveScreen, finishReport, scoreState, scoreUnits, scoringInputs, unitStages, type ScoringInputs } from './finish.js';
import { prepare, type Prepared, type PrepareOptions } from './prepare.js';
import { scanIdentity, scanState, storeDiscovery, workHash, type ScanState, type StoredDiscovery } from './state.js';

export interface ScanOptions extends PrepareOptions, DiscoveryOptions {
  placements?: readonly Placement[] | undefined;
  controls?: number | undefined;
  maxNewTokens?: number | undefined;
  fdr?: number | undefined;
  minAttackSuccess?: number | undefined;
  minCategorySize?: number | undefined;
  seed?: number | undefined;
  batchSize?: number | undefined;
  /** The engine's savings, for measuring each alone (default: all on). */
  engine?: EngineSwitches | undefined;
  /**
   * Sequential testing (score/sequential.ts, default on): each test's own probes first, its controls
   * only if it could still be a finding. A sharded scan does not screen.
   */
  screen?: boolean | undefined;
  onProgress?: ((done: number, total: number, phase: string) => void) | undefined;
  /** --max-time: finish the most valuable work within this many milliseconds and report the rest as untested. */
  maxTimeMs?: number | undefined;
  /** --max-memory: the memory limit the pre-check uses instead of what the machine says. */
  maxMemoryBytes?: number | undefined;
  /** The memory pre-check before the model loads (default on). */
  memoryCheck?: boolean | undefined;
  /** Record finished work in `<dir>/results.log`; `resume`: continue the scan that log is of. */
  journal?: { dir: string; resume: boolean } | undefined;
  /** Run only this shard's work units (`--shard i/n`); `merge` joins the shards' results logs. */
  shard?: Shard | undefined;
  /** The memory pre-check's estimate and limit, when it ran. */
  onMemoryCheck?: ((c: MemoryCheck) => void) | undefined;
  /** What writing the results log cost, when there was one. */
  onResultsLog?: ((w: { file: string; records: number; bytes: number; writeMs: number }) => void) | undefined;
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

export interface TestSettings {
  seed: number;
  controls: number;
  placements: Placement[] | null;
  maxNewTokens: number;
  fdr: number;
  minAttackSuccess: number;
  minCategorySize: number;
  batchSize: number;
  /** Sequential testing (score/sequential.ts). */
  screen: boolean;
}

/** Defaults filled in and checked: the settings a report records. */
export function testSettings(o: ScanOptions): TestSettings {
  const s: TestSettings = {
    seed: o.seed ?? SCAN_DEFAULTS.seed,
    controls: o.controls ?? SCAN_DEFAULTS.controls,
    placements: o.placements ? [...o.placements] : null,
    maxNewTokens: o.maxNewTokens ?? SCAN_DEFAULTS.maxNewTokens,
    fdr: o.fdr ?? SCAN_DEFAULTS.fdr,
    minAttackSuccess: o.minAttackSuccess ?? SCAN_DEFAULTS.minAttackSuccess,
    minCategorySize: o.minCategorySize ?? SCAN_DEFAULTS.minCategorySize,
    batchSize: o.batchSize ?? SCAN_DEFAULTS.batchSize,
    screen: o.screen ?? true,
  };
  if (s.controls < 1) throw new UserError('E_USAGE', '--controls must be at least 1');
  if (!(s.fdr > 0 && s.fdr < 1)) throw new UserError('E_USAGE', '--fdr must be between 0 and 1');
  return s;
}

export interface Tested {
  plan: ScanPlan;
  exec: Execution;
  /** Sequential testing: the tests stopped after the screening stage; undefined when every test ran with all its controls. */
  screen: Screening | undefined;
  /** Probes run (fewer than the plan's when tests stopped early). */
  probesRun: number;
  results: TestResult[];
  findings: TestResult[];
  steering: TestResult[];
  verdict: ModelVerdict;
}

/** The plan of a set of triggers, each with its random controls. */
export function planTests(p: Prepared, packs: PackSet, s: TestSettings): ScanPlan {
  const { model, profile } = p;
  const plan = buildPlan(packs, model.tokenizer, model.format, model.embedding?.rows ?? Number.MAX_SAFE_INTEGER, {
    seed: s.seed,
    controls: s.controls,
    placements: s.placements ?? undefined,
    input: profile.input,
  });
  if (!plan.tests.length && packs.triggers.length) throw new UserError('E_USAGE', `no trigger allows the placements ${s.placements?.join(', ')}`);
  return plan;
}

/**
 * plan → run → score → verdict over a set of triggers, each against its random controls, in
 * memory. Pack triggers and discovered ones go through exactly this; `discovered` says which refs
 * were discovered. scanModel runs the same stages through work units and a results log.
 */
export async function testTriggers(
  p: Prepared,
  packs: PackSet,
  s: TestSettings,
  o: {
    discovered?: ReadonlyMap<string, DiscoveryInfo> | undefined;
    reference?: readonly { prompt: string; output: string }[] | undefined;
    onProgress?: ScanOptions['onProgress'];
    engine?: EngineSwitches | undefined;
  } = {},
): Promise<Tested> {
  const plan = planTests(p, packs, s);
  const inputs: ScoringInputs = {
    plan,
    detectors: packs.detectors,
    options: { ...s, outputs: p.profile.outputs, discovered: o.discovered, reference: o.reference },
    fileSeverities: p.audit.fileFindings.map((f) => f.severity),
    screen: effectiveScreen(plan, s.screen),
  };
  const stages = unitStages(inputs);
  const executed = await executeUnits(p, plan, stages.first, s, { onProgress: o.onProgress, engine: o.engine }, stages.next);
  const t = scoreUnits(inputs, executed.references, executed.units, null);
  const exec: Execution = { clean: executed.references.clean, probes: t.outcomes, stats: t.stats };
  return { plan, exec, screen: t.screen, probesRun: t.probesRun, results: t.results, findings: t.findings, steering: t.steering, verdict: t.verdict };
}

/**
 * Discovery's inversion, for the memory pre-check: its kept chains extended over every search prompt
 * at once (INVERSION.keep × the 24 prompts of probes/baselines-search.yaml), each row a rendered
 * prompt (planned at 64 tokens) and its steps.
 */
const DISCOVERY_MEMORY = { rows: INVERSION.keep * 24, tokens: 64 + INVERSION.fullSteps };
/** Of a --max-time budget, the share discovery may spend proposing candidates. */
const DISCOVERY_SHARE = 1 / 3;

/** The library entry point behind `trigger-scan <model-dir>`. */
export async function scanModel(dir: string, o: ScanOptions = {}): Promise<ScanReport> {
  return (await scanJob(dir, o)).report;
}

export interface ShardResult {
  /** The shard's share scored alone: partial by nature (the other shards' tests are missing). */
  report: ScanReport;
  /** The shard's results log, for `merge`. */
  log: string;
  unitsAssigned: number;
  /** Of those, finished (this run or a resumed one). */
  unitsDone: number;
}

/** `trigger-scan <model-dir> --shard i/n`: one shard's work units, recorded for `merge`. */
export async function scanShard(dir: string, o: ScanOptions & { shard: Shard; journal: { dir: string; resume: boolean } }): Promise<ShardResult> {
  const r = await scanJob(dir, o);
  return { report: r.report, log: path.join(o.journal.dir, RESULTS_LOG), unitsAssigned: r.assigned, unitsDone: r.assignedDone };
}

async function scanJob(dir: string, o: ScanOptions): Promise<{ report: ScanReport; assigned: number; assignedDone: number }> {
  const startedAt = new Date();
  const deadline = o.maxTimeMs !== undefined ? startedAt.getTime() + o.maxTimeMs : undefined;
  let s = testSettings(o);
  const file = o.journal ? path.join(o.journal.dir, RESULTS_LOG) : undefined;
  const log = file && o.journal?.resume ? await readResultsLog(file) : undefined;
  const recorded = log?.header as HeaderRecord<ScanState> | undefined;
  // A resumed scan runs with the batch size it started with, unless told otherwise.
  if (recorded && o.batchSize === undefined) s = { ...s, batchSize: recorded.state.context.settings.batchSize };
  const discover = o.discover !== false;
  const p = await prepare(dir, {
    ...o,
    memory: o.memoryCheck === false ? undefined : { batchSize: s.batchSize, maxNewTokens: s.maxNewTokens, controls: s.controls, discovery: discover ? DISCOVERY_MEMORY : undefined, limitBytes: o.maxMemoryBytes },
  });
  s = { ...s, batchSize: p.batchSize ?? s.batchSize };
  if (p.memory) o.onMemoryCheck?.(p.memory);
  try {
    if (o.packTriggers === false && !p.profile.discovery) {
      throw new UserError('E_USAGE', `${dir}: discovery needs a text generator; this graph is a ${p.model.io.task} model (use scan)`, dir);
    }
    const discoverMinutes = o.discoverMinutes ?? DISCOVERY_DEFAULTS.minutes;
    const identity = scanIdentity(p, s, {
      graph: o.graph, fromSafetensors: o.fromSafetensors, frame: o.frame, packTriggers: o.packTriggers,
      discover: discover && p.profile.discovery, discoverMinutes, discoverCandidates: o.discoverCandidates ?? DISCOVERY_DEFAULTS.candidates, discoverTargets: o.discoverTargets ?? DISCOVERY_DEFAULTS.targets,
      discoverBeam: o.discoverBeam ?? DISCOVERY_DEFAULTS.beam, discoverLength: o.discoverLength ?? DISCOVERY_DEFAULTS.length, discoverWiden: o.discoverWiden ?? DISCOVERY_DEFAULTS.widen, base: o.base,
    });
    const sameShard = (h: HeaderRecord) => JSON.stringify(h.shard) === JSON.stringify(o.shard ?? null);
    const resumed = recorded && recorded.identity === identity && sameShard(recorded) ? log : undefined;
    if (recorded && !resumed) o.onNotice?.(`${file}: the results log is from another scan (the model, packs, settings or shard differ); starting over`);
    if (resumed?.droppedBytes) o.onNotice?.(`${file}: ${resumed.droppedBytes} bytes at its end are a torn or damaged record; that work is done again`);

    // Discovery proposes strings no pack lists; they join the pack triggers and face the same test.
    // A resumed scan takes the candidates it recorded: a time-boxed search may not find the same again.
    let discovery: StoredDiscovery | null;
    if (resumed) discovery = recorded!.state.discovery;
    else {
      const budget = deadline !== undefined ? Math.min(discoverMinutes, ((deadline - Date.now()) * DISCOVERY_SHARE) / 60_000) : discoverMinutes;
      const found = await runDiscovery(p, s, { ...o, discoverMinutes: budget });
      discovery = found ? storeDiscovery(found) : null;
    }
    const packs = discovery ? { ...p.packs, triggers: [...p.packs.triggers, ...discovery.triggers] } : p.packs;
    const plan = planTests(p, packs, s);
    // A shard cannot see the other shards' screening outcomes, and shared probes tie units together:
    // sharded scans test every trigger with all its controls (compare them with --no-screen).
    const screen = !o.shard && effectiveScreen(plan, s.screen);
    const context = reportContext({ dirArg: dir, model: p.model, manifest: p.audit.manifest, audit: p.audit, packs: p.packs, packPins: p.packPins, settings: { ...s, screen } });
    let state = scanState(context, plan, packs.detectors, p.profile.outputs, discovery);
    const work = workHash(state);
    if (resumed) {
      if (recorded!.work !== work) throw new UserError('E_RESUME', `${file}: the results log matches this scan's inputs but not the plan rebuilt from them; remove it to scan again`, file);
      // The report of a resumed scan is the one the scan would have written: as it started (its pin status).
      state = { ...state, context: recorded!.state.context };
    }
    const stages = unitStages(scoringInputs(state));
    const units = stages.first;
    const assigned = o.shard ? shardUnits(units, o.shard) : undefined;
    const header: HeaderRecord<ScanState> = { kind: 'header', format: RESULTS_LOG_FORMAT, tool: VERSION, identity, work, threads: p.threads, shard: o.shard ?? null, state };
    if (o.journal) await makeFolder(o.journal.dir);
    const writer = file ? (resumed ? await ResultsLogWriter.resume(file, resumed.validBytes) : await ResultsLogWriter.create(file, header)) : undefined;
    let executed;
    try {
      executed = await executeUnits(p, plan, units, s, {
        recorded: resumed?.clean?.references as CleanReferences | undefined,
        done: resumed ? (resumed.units as unknown as Map<number, UnitResult>) : undefined,
        assigned,
        deadline,
        onClean: writer && ((c) => writer.append({ kind: 'clean', references: c })),
        onUnit: writer && ((u) => writer.append({ kind: 'unit', unit: u.unit, key: u.key, probes: u.probes, outcomes: u.outcomes, stats: u.stats })),
        onProgress: o.onProgress,
        engine: o.engine,
      }, stages.next);
    } finally {
      await writer?.close();
      if (writer) o.onResultsLog?.({ file: writer.file, records: writer.records, bytes: writer.bytes, writeMs: writer.writeMs });
    }
    const scored = scoreState(state, executed.references, executed.units, o.shard ? 'shards-missing' : 'max-time');
    const report = finishReport(state, scored, executed.references, { threads: p.threads, startedAt, finishedAt: new Date() });
    // Trust on first use records the folder only now that it was checked, loaded and scanned.
    const pin = await commitPin(p.audit.pin);
    await commitPackPins(p.packPinCheck);
    if (report.provenance) report.provenance.pin = { status: pin.status, name: pin.name };
    const mine = assigned ?? new Set(units.map((u) => u.index));
    return { report, assigned: mine.size, assignedDone: [...mine].filter((u) => executed.units.has(u)).length };
  } finally {
    await p.release();
  }
}
