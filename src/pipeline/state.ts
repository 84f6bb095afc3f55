/**
 * What a scan is, before it runs: its identity (the inputs: model digests, packs, settings,
 * discovery options) and its state (the report's context, the plan as scoring reads it, the
 * detectors, what discovery proposed). A results log begins with both; `--resume` continues a log
 * whose identity is this scan's, and `merge` joins shards whose planned work is the same.
 */
import { createHash } from 'node:crypto';
import type { Discovery } from '../discover/discover.js';
import type { ScanPlan } from '../plan/plan.js';
import { storePlan, type StoredPlan } from '../plan/stored-plan.js';
import type { Detector, ResolvedTrigger } from '../probes/types.js';
import type { ReportContext } from '../report/build-report.js';
import type { ReportDiscovery } from '../report/schema.js';
import type { DiscoveryInfo } from '../score/score-tests.js';
import { VERSION } from '../version.js';
import type { Prepared } from './prepare.js';
import type { TestSettings } from './scan.js';

/** Discovery's result as the later stages need it; plain JSON. */
export interface StoredDiscovery {
  triggers: ResolvedTrigger[];
  info: [string, DiscoveryInfo][];
  cleanAnswers: { prompt: string; output: string }[];
  /** What the search left undone when its time budget ran out. */
  incomplete: string[];
  report: ReportDiscovery;
}

export interface ScanState {
  context: ReportContext;
  plan: StoredPlan;
  detectors: Detector[];
  outputs: 'text' | 'label';
  discovery: StoredDiscovery | null;
}

export const hashJson = (v: unknown): string => createHash('sha256').update(JSON.stringify(v)).digest('hex');

export function storeDiscovery(d: Discovery): StoredDiscovery {
  return {
    triggers: d.triggers,
    info: [...d.info],
    cleanAnswers: d.cleanAnswers,
    incomplete: [...d.incomplete],
    report: {
      settings: { ...d.settings, incomplete: [...d.incomplete] },
      stages: d.stages.map((s) => ({ name: s.name, ms: s.ms, candidates: s.candidates, ...(s.skipped ? { skipped: s.skipped } : {}) })),
      targets: d.targets.map((t) => ({ text: t.text, qScore: t.qScore, signal: t.signal, harmful: t.harmful, status: t.status })),
      candidates: d.triggers.map((t) => {
        const info = d.info.get(t.ref);
        return { ref: t.ref, text: t.text, placement: t.placements[0]!, signals: [...(info?.signals ?? [])], target: info?.target?.text ?? null };
      }),
    },
  };
}

/** The options that change what a scan does, beyond the prepared model and the settings. */
export interface IdentityOptions {
  graph?: string | undefined;
  fromSafetensors?: boolean | undefined;
  frame?: string | undefined;
  packTriggers?: boolean | undefined;
  discover: boolean;
  discoverMinutes: number;
  discoverCandidates: number;
  discoverTargets: number;
  discoverBeam: number;
  discoverLength: number;
  discoverWiden: number;
  base?: string | undefined;
}

/**
 * The hash of everything that decides a scan's result: the same identity, the same report (apart
 * from timestamps). Threads are left out: they change speed, not results, and shards of one scan may
 * run on machines with different core counts.
 */
export function scanIdentity(p: Prepared, s: TestSettings, o: IdentityOptions): string {
  return hashJson({
    tool: VERSION,
    rootDigest: p.audit.manifest.rootDigest,
    directoryDigest: p.audit.manifest.directoryDigest,
    graph: p.layout.graphPath.slice(p.layout.dir.length),
    layout: p.layout.layout,
    packs: p.packs.packs.map((k) => [k.name, k.digest]),
    baselines: p.packs.baselines.map((b) => b.ref),
    triggers: p.packs.triggers.map((t) => t.ref),
    settings: s,
    options: { ...o, graph: o.graph ?? null, fromSafetensors: Boolean(o.fromSafetensors), frame: o.frame ?? null, packTriggers: o.packTriggers !== false, base: o.base ?? null },
  });
}

export function scanState(context: ReportContext, plan: ScanPlan, detectors: readonly Detector[], outputs: 'text' | 'label', discovery: StoredDiscovery | null): ScanState {
  // Through JSON once, so that the state a scan scores from is the state a log or a shard holds.
  return JSON.parse(JSON.stringify({ context, plan: storePlan(plan), detectors, outputs, discovery })) as ScanState;
}

/** The planned work, without what may differ between shards of one scan (the pin status each box saw). */
export const workHash = (st: ScanState): string => hashJson({ plan: st.plan, detectors: st.detectors, outputs: st.outputs, discovery: st.discovery });
