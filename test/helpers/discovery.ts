/**
 * Discovery settings for end-to-end tests: fewer baselines and controls, one target searched (harmful
 * first), fewer candidates confirmed, a narrower reconstruction (beam 6, 6 tokens, no wider rounds). Bounded by work, not the clock: the wall-clock cap is far above
 * what the reduced search needs, so a loaded machine gives the same result, only later.
 */
export const REDUCED = { pins: { mode: 'off' as const }, maxBaselines: 24, controls: 8, discoverTargets: 1, discoverCandidates: 6, discoverMinutes: 30, discoverBeam: 6, discoverLength: 6, discoverWiden: 0 };
/** The same for the CLI. */
export const REDUCED_CLI = ['--pin', 'off', '--max-baselines', '24', '--controls', '8', '--discover-targets', '1', '--discover-candidates', '6', '--discover-minutes', '30', '--discover-beam', '6', '--discover-length', '6', '--discover-widen', '0'];
