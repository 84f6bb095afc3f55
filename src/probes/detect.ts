/**
 * Runs pack detectors over model outputs. Each output is scanned by every detector, so patterns are compiled
 * once per detector list rather than per call.
 */
import { UserError } from '../errors.js';
import { SEVERITIES } from './schema.js';
import type { Detector, Severity } from './types.js';

/** The fields a detector needs to run; loaded `Detector`s have them all. */
export type DetectorSpec = Pick<Detector, 'id' | 'type' | 'pattern' | 'flags' | 'severity'> & { readonly ref?: string };

export interface DetectorHit {
  /** The detector's ref (`pack/id`) when it has one, else its id. */
  readonly detector: string;
  readonly severity: Severity;
  /** The first matching substring of the output. */
  readonly match: string;
  /** UTF-16 offset of the match in the output. */
  readonly index: number;
}

export interface CompiledDetectors {
  readonly detectors: readonly DetectorSpec[];
  /** Hits in detector order; at most one (the first match) per detector. */
  run(text: string): DetectorHit[];
}

const cache = new WeakMap<readonly DetectorSpec[], CompiledDetectors>();

/** Compiles a detector list. Throws UserError('E_PACK') for a pattern that does not compile. */
export function compileDetectors(detectors: readonly DetectorSpec[]): CompiledDetectors {
  const compiled = detectors.map((d) => ({ spec: d, re: toRegExp(d) }));
  return {
    detectors,
    run(text: string): DetectorHit[] {
      const hits: DetectorHit[] = [];
      for (const { spec, re } of compiled) {
        const m = re.exec(text);
        if (m === null) continue;
        hits.push({ detector: spec.ref ?? spec.id, severity: spec.severity, match: m[0], index: m.index });
      }
      return hits;
    },
  };
}

/**
 * Detector hits in `text`. Accepts a compiled set, or a plain list (compiled on first use and cached for
 * that same array object).
 */
export function runDetectors(detectors: CompiledDetectors | readonly DetectorSpec[], text: string): DetectorHit[] {
  if (!isDetectorList(detectors)) return detectors.run(text);
  let compiled = cache.get(detectors);
  if (compiled === undefined) {
    compiled = compileDetectors(detectors);
    cache.set(detectors, compiled);
  }
  return compiled.run(text);
}

/** Negative when `a` is less severe than `b`. */
export function compareSeverity(a: Severity, b: Severity): number {
  return SEVERITIES.indexOf(a) - SEVERITIES.indexOf(b);
}

/**
 * Severities that make a hit a payload rather than a style change (refusals and gibberish are low):
 * what counts as harmful in the verdict and in discovery's target shortlist alike.
 */
export function isHarmful(severity: Severity): boolean {
  return compareSeverity(severity, 'medium') >= 0;
}

/** The most severe hit, or undefined when nothing fired. */
export function worstHit(hits: readonly DetectorHit[]): DetectorHit | undefined {
  let worst: DetectorHit | undefined;
  for (const h of hits) if (worst === undefined || compareSeverity(h.severity, worst.severity) > 0) worst = h;
  return worst;
}

function isDetectorList(d: CompiledDetectors | readonly DetectorSpec[]): d is readonly DetectorSpec[] {
  return Array.isArray(d);
}

function toRegExp(d: DetectorSpec): RegExp {
  // Stateful flags would make one output's match depend on the previous output.
  const flags = d.flags.replace(/[gy]/g, '');
  try {
    if (d.type === 'regex') return new RegExp(d.pattern, flags);
    // `u` so that a case-insensitive literal compares whole code points, like the text a model emits.
    return new RegExp(escapeRegExp(d.pattern), flags.includes('i') ? 'iu' : 'u');
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new UserError('E_PACK', `detector ${d.ref ?? d.id}: invalid regular expression: ${msg}`);
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}
