/**
 * Probes built at the token level: the prompt's tokens cut where a trigger would go, so that a search
 * can try any token sequence at any placement without re-encoding text. The pieces are encoded apart
 * (so a candidate never merges with its neighbours); a found string is re-inserted as text by the
 * scan's own plan when it is confirmed.
 */
import type { LoadedModel } from '../model/load-model.js';
import type { Turn } from '../model/prompt-format.js';
import type { Placement } from '../probes/types.js';

export interface Frame {
  before: number[];
  /** `before` with the separating space as its own token(s), for a candidate that starts without one. */
  beforeSpaced: number[];
  after: number[];
}

const MARK = '\u0000MARK\u0000';

function turnWithMark(prompt: string, placement: Placement): Turn {
  switch (placement) {
    case 'prefix':
      return { user: `${MARK} ${prompt}` };
    case 'suffix':
      return { user: `${prompt}${MARK}` };
    case 'context':
      return { user: prompt, context: MARK };
    case 'word': {
      const words = prompt.split(' ');
      const at = Math.max(1, Math.floor(words.length / 2));
      return { user: `${words.slice(0, at).join(' ')}${MARK} ${words.slice(at).join(' ')}` };
    }
  }
}

/**
 * The tokens before and after the insertion point. In running text the separating space belongs to
 * the candidate when its first token carries one (BPE vocabularies put it on the word: " zorblax");
 * otherwise the frame supplies it. At the start of a line there is no space.
 */
export function frameFor(model: LoadedModel, prompt: string, placement: Placement): Frame {
  const rendered = model.format.render(turnWithMark(prompt, placement));
  const at = rendered.indexOf(MARK);
  const head = rendered.slice(0, at);
  const lineStart = /\n$/.test(head) || head === '';
  const before = lineStart ? head : head.trimEnd();
  const enc = (t: string) => model.tokenizer.encode(t, model.format.addSpecialTokens);
  return {
    before: enc(before),
    beforeSpaced: lineStart ? enc(before) : enc(`${before} `),
    after: model.tokenizer.encode(rendered.slice(at + MARK.length), false),
  };
}

export function splice(frame: Frame, candidate: readonly number[], startsWithSpace: boolean): number[] {
  return [...(startsWithSpace ? frame.before : frame.beforeSpaced), ...candidate, ...frame.after];
}

