/** Discovery settings for end-to-end tests: fewer baselines and controls, a shorter search. */
export const REDUCED = { pins: { mode: 'off' as const }, maxBaselines: 24, controls: 8, discoverMinutes: 3 };
