/**
 * Probes built at the token level: the prompt's tokens cut where a trigger would go, so that a search
 * can try any token sequence at any placement without re-encoding the whole prompt. A candidate is
 * encoded the way the scan's confirmation will encode it once it is written into the prompt as text
 * (plan/insert.ts): with the whitespace that precedes it there, so that a search never scores a
 * tokenization no real prompt produces.
 */
import type { LoadedModel } from '../model/load-model.js';
import type { Turn } from '../model/prompt-format.js';
import { gluesToNeighbours } from '../plan/insert.js';
import type { Placement } from '../probes/types.js';

/** One side of the cut, for a word-like candidate (spaces around it) or a glued one (an invisible character). */
export interface FrameForm {
  before: number[];
  after: number[];
  /** Whitespace the candidate is encoded with: what precedes it in the rendered prompt ('' at a line start). */
  lead: string;
  /** Text before the cut, without that whitespace: the context a candidate is encoded in. */
  head: string;
}

export interface Frame {
  spaced: FrameForm;
  glued: FrameForm;
}

const MARK = '\u0000MARK\u0000';

function turnWithMark(prompt: string, placement: Placement, glue: boolean): Turn {
  const sep = glue ? '' : ' ';
  switch (placement) {
    case 'prefix':
      return { user: `${MARK}${sep}${prompt}` };
    case 'suffix':
      return { user: `${prompt}${sep}${MARK}` };
    case 'context':
      return { user: prompt, context: MARK };
    case 'word': {
      const words = prompt.split(' ');
      const at = Math.max(1, Math.floor(words.length / 2));
      const head = words.slice(0, at).join(' ');
      const tail = words.slice(at).join(' ');
      return { user: glue ? `${head} ${MARK}${tail}` : `${head} ${MARK} ${tail}` };
    }
  }
}

function formFor(model: LoadedModel, prompt: string, placement: Placement, glue: boolean): FrameForm {
  const rendered = model.format.render(turnWithMark(prompt, placement, glue));
  const at = rendered.indexOf(MARK);
  const full = rendered.slice(0, at);
  const lineStart = full === '' || /\n$/.test(full);
  const head = lineStart ? full : full.trimEnd();
  // BPE and SentencePiece vocabularies put a word's space on its first token (" Between"): the
  // separating space is the candidate's, as it is when the scan encodes the prompt it writes.
  const lead = lineStart ? '' : full.slice(head.length);
  return {
    head,
    before: model.tokenizer.encode(head, model.format.addSpecialTokens),
    after: model.tokenizer.encode(rendered.slice(at + MARK.length), false),
    lead,
  };
}

export function frameFor(model: LoadedModel, prompt: string, placement: Placement): Frame {
  return { spaced: formFor(model, prompt, placement, false), glued: formFor(model, prompt, placement, true) };
}

/**
 * The tokens a candidate's text takes in a prompt: the text written after `head` with its leading
 * whitespace, encoded in that context, the head's own tokens taken off. Encoded apart, " Between"
 * after "User:" would be the space as a token of its own and then "B": a form the model never saw.
 */
export function encodeInContext(model: LoadedModel, head: string, lead: string, text: string, headTokens = model.tokenizer.encode(head, false)): number[] {
  const all = model.tokenizer.encode(head + lead + text, false);
  if (all.length >= headTokens.length && headTokens.every((t, i) => all[i] === t)) return all.slice(headTokens.length);
  // The text merged with the head's last token (rare): encoded alone, as the nearest form.
  return model.tokenizer.encode(lead + text, false);
}

export function splice(form: FrameForm, candidate: readonly number[]): number[] {
  return [...form.before, ...candidate, ...form.after];
}
