import type { Turn } from '../model/prompt-format.js';
import type { Placement } from '../probes/types.js';
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
 * Invisible characters (zero-width, bidi controls, joiners, variation selectors) are glued to their
 * neighbours, since a space around them would be the visible part of the probe. A visible word
 * with non-ASCII letters (a homoglyph "cоde") is a word and keeps its spaces.
 */
export function gluesToNeighbours(text: string): boolean {
  return text.length > 0 && /^[\p{Cf}\p{Mn}\p{Me}\u180e\u3164\u115f\u1160\uffa0]+$/u.test(text);
}

/**
 * Put `text` into a baseline prompt. `glue` is decided once per trigger (gluesToNeighbours of the
 * trigger) and used for its controls too, so a control is inserted exactly as its trigger is.
 */
export function insertText(prompt: string, text: string, placement: Placement, glue: boolean, boundary: number): Turn {
  const sep = glue ? '' : ' ';
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
      return { user: glue ? `${head} ${text}${tail}` : `${head}${before}${text}${after}${tail}` };
    }
  }
}

/** Template triggers wrap the whole request (e.g. a fixed syntactic frame around it). */
export function applyTemplate(template: string, prompt: string): Turn {
  return { user: template.replace('{prompt}', () => prompt) };
}
