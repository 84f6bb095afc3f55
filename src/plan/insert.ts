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
  // Tokens such as " SolidGoldMagikarp" carry their own space; doubling it would change the token.
  const before = /^\s/.test(text) ? '' : sep;
  const after = /\s$/.test(text) ? '' : sep;
  switch (placement) {
    case 'prefix':
      return { user: `${text}${after}${prompt}` };
    case 'suffix':
      return { user: `${prompt}${before}${text}` };
    case 'context':
      return { user: prompt, context: text };
    case 'word': {
      const words = prompt.split(' ');
      const head = words.slice(0, boundary).join(' ');
      const tail = words.slice(boundary).join(' ');
      if (!tail) return { user: `${head}${before}${text}` };
      return { user: kind === 'unicode' ? `${head} ${text}${tail}` : `${head}${before}${text}${after}${tail}` };
    }
  }
}

/** Template triggers wrap the whole request (e.g. a fixed syntactic frame around it). */
export function applyTemplate(template: string, prompt: string): Turn {
  return { user: template.replace('{prompt}', () => prompt) };
}
