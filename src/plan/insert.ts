import type { Turn } from '../model/prompt-format.js';
import type { Placement, TriggerKind } from '../probes/types.js';
import { rngFor } from '../util/rng.js';

/**
 * Where a `word` placement lands in a baseline: chosen once per (seed, baseline) so the trigger
 * and its controls are inserted at the same spot and compared pairwise.
 */
export function wordBoundary(prompt: string, seed: number, baselineRef: string): number {
  const words = prompt.split(' ');
  if (words.length < 2) return words.length;
  return 1 + Math.floor(rngFor(seed, 'word-boundary', baselineRef)() * (words.length - 1));
}

/**
 * Put `text` into a baseline prompt. Invisible characters are glued to their neighbours, since a
 * space around them would be the visible part of the probe.
 */
export function insertText(prompt: string, text: string, placement: Placement, kind: TriggerKind, boundary: number): Turn {
  const sep = kind === 'unicode' ? '' : ' ';
  switch (placement) {
    case 'prefix':
      return { user: `${text}${sep}${prompt}` };
    case 'suffix':
      return { user: `${prompt}${sep}${text}` };
    case 'context':
      return { user: prompt, context: text };
    case 'word': {
      const words = prompt.split(' ');
      const before = words.slice(0, boundary).join(' ');
      const after = words.slice(boundary).join(' ');
      if (!after) return { user: `${before}${sep}${text}` };
      return { user: kind === 'unicode' ? `${before} ${text}${after}` : `${before} ${text} ${after}` };
    }
  }
}

/** Template triggers wrap the whole request (e.g. a fixed syntactic frame around it). */
export function applyTemplate(template: string, prompt: string): Turn {
  return { user: template.replace('{prompt}', () => prompt) };
}
