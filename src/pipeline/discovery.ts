/**
 * The discovery stage as the pipeline runs it: on by default for text generators, time-boxed,
 * searching its own prompts (never the baselines its candidates are confirmed on).
 */
import { DISCOVER_DEFAULTS, discoverTriggers, type Discovery } from '../discover/discover.js';
import { loadPacks } from '../probes/load-pack.js';
import { CausalLM } from '../run/causal-lm.js';
import { embeddingDrift } from '../discover/weight-drift.js';
import { RECONSTRUCT_DEFAULTS, searchSize } from '../discover/reconstruct.js';
import type { Prepared } from './prepare.js';
import type { TestSettings } from './scan.js';

export interface DiscoveryOptions {
  /** Search for triggers no pack lists (default: on for text generators). */
  discover?: boolean | undefined;
  /** Wall-clock budget of the search, in minutes (confirmation not included). */
  discoverMinutes?: number | undefined;
  /** Candidates confirmed by the scan's test. */
  discoverCandidates?: number | undefined;
  /** Inverted targets a trigger is searched for (harmful first): the search's main cost, per target. */
  discoverTargets?: number | undefined;
  /** Beam width of trigger reconstruction (its alphabet is eight tokens per beam slot). */
  discoverBeam?: number | undefined;
  /** Longest string trigger reconstruction builds, in tokens. */
  discoverLength?: number | undefined;
  /** Rounds that search the first target again, wider each time, while the budget lasts. */
  discoverWiden?: number | undefined;
  /** The base model folder (audited by the caller): token-embedding rows that moved most seed the search. */
  base?: string | undefined;
}

export const DISCOVERY_DEFAULTS = {
  minutes: DISCOVER_DEFAULTS.budgetMs / 60_000, candidates: DISCOVER_DEFAULTS.maxCandidates, targets: DISCOVER_DEFAULTS.maxTargets,
  beam: RECONSTRUCT_DEFAULTS.beamWidth, length: RECONSTRUCT_DEFAULTS.maxLength, widen: DISCOVER_DEFAULTS.widen,
} as const;

export async function runDiscovery(p: Prepared, s: TestSettings, o: DiscoveryOptions & { onProgress?: ((done: number, total: number, phase: string) => void) | undefined }): Promise<Discovery | null> {
  if (o.discover === false || !p.profile.discovery) return null;
  const search = await loadPacks(['baselines-search']);
  const stock = await loadPacks(['baselines-stock']);
  const drift = o.base ? await embeddingDrift(p.dir, o.base, 16) : undefined;
  const lm = new CausalLM(p.model, { batchSize: s.batchSize });
  try {
    return await discoverTriggers(p.model, lm, {
      ...DISCOVER_DEFAULTS,
      budgetMs: (o.discoverMinutes ?? DISCOVERY_DEFAULTS.minutes) * 60_000,
      maxCandidates: o.discoverCandidates ?? DISCOVERY_DEFAULTS.candidates,
      maxTargets: o.discoverTargets ?? DISCOVERY_DEFAULTS.targets,
      seed: s.seed,
      prompts: search.baselines,
      reference: p.packs.baselines,
      stock: stock.baselines,
      detectors: p.packs.detectors,
      placements: s.placements?.length ? s.placements : DISCOVER_DEFAULTS.placements,
      driftSeeds: drift?.map((d) => d.id),
      search: searchSize(o.discoverBeam ?? DISCOVERY_DEFAULTS.beam, o.discoverLength ?? DISCOVERY_DEFAULTS.length),
      widen: o.discoverWiden ?? DISCOVERY_DEFAULTS.widen,
      onProgress: o.onProgress,
    });
  } finally {
    // The row kernels' helper sessions (the model's own session is the caller's).
    await lm.release();
  }
}
