/**
 * Trigger reconstruction for a known target: search, at each placement, for the token string that
 * makes the model most likely to start its answer with the target, averaged over a few prompts
 * (teacher-forced: one pass per probe, no decoding). A vocabulary sweep ranks single tokens; a beam
 * then grows the best ones on both sides, long enough for a made-up word split into several tokens
 * or a short phrase. What it finds may be the planted trigger, a part of it, or an approximate
 * trigger that reproduces the payload; confirmation on other prompts decides.
 */
import type { LoadedModel } from '../model/load-model.js';
import type { Placement } from '../probes/types.js';
import type { CausalLM } from '../run/causal-lm.js';
import { gluesToNeighbours } from '../plan/insert.js';
import { encodeInContext, frameFor, splice } from './splice.js';

export interface ReconstructSettings {
  /** Tokens of the target scored (its beginning; the rest follows from it). */
  targetTokens: number;
  /** Single tokens kept from the sweep as seeds and as the alphabet for extension. */
  alphabet: number;
  beamWidth: number;
  maxLength: number;
  /** Stop early when this returns true (a time budget). */
  stop?: () => boolean;
  /** Extra seeds for the beam (token ids that moved most against a base model). */
  seeds?: readonly number[];
  /**
   * `word`: one word, grown to the right with pieces that carry no space (a made-up word split into
   * several tokens); `phrase`: any tokens on either side. A free search finds strings that work but
   * are stitched from unrelated pieces; the word shape keeps it to what a trigger word looks like.
   */
  shape?: 'word' | 'phrase';
  /**
   * The tokens a candidate's text encodes to. Confirmation re-encodes the text, so a search over
   * token sequences the tokenizer would never produce finds strings that lose their effect once
   * written out; every move is scored in this form. Default: the sequence as it is.
   */
  canonical?: (tokens: readonly number[]) => number[];
  /**
   * Strings tried whole in the sweep besides the vocabulary's tokens (their token ids): characters a
   * byte-level tokenizer splits into pieces no one-token sweep can propose (invisible-chars.ts).
   */
  extraMoves?: readonly (readonly number[])[];
}

/**
 * Measured on the answer-only fixtures' inverted payloads (suffix, 12 search prompts, scored on the 12
 * held-out search prompts; mean log-probability per target token, no insertion ≈ -1.2 to -1.9): beam 4,
 * length 6, alphabet 48 stopped at -0.49 to -0.60 (a payload greedy decoding rarely writes out) in
 * 5–12 s; beam 12, length 10, alphabet 96 reached -0.09 to -0.36 in 13–42 s. Each search gets its share
 * of the discovery budget, so a larger model's search is cut by time, not by these bounds.
 */
export const RECONSTRUCT_DEFAULTS: ReconstructSettings = { targetTokens: 8, alphabet: 96, beamWidth: 12, maxLength: 10 };

/** How wide the search is: what a user may change (a quick check, or a deeper night run). */
export type SearchSize = Pick<ReconstructSettings, 'beamWidth' | 'maxLength' | 'alphabet'>;

/**
 * The search size for a beam width and length: the alphabet (extension tokens) grows with the beam,
 * eight per beam slot as in the defaults, so that a wider beam also has more to choose from.
 */
export function searchSize(beamWidth = RECONSTRUCT_DEFAULTS.beamWidth, maxLength = RECONSTRUCT_DEFAULTS.maxLength): SearchSize {
  return { beamWidth, maxLength, alphabet: 8 * beamWidth };
}

export interface Reconstructed {
  tokens: number[];
  text: string;
  placement: Placement;
  /** Mean log-probability per target token, with the candidate inserted. */
  score: number;
  /** The same without any insertion: how much the candidate raised the target. */
  baseline: number;
}

export interface TargetScorer {
  /**
   * Mean over prompts (the first `promptCount`, default all) of the mean target log-probability, per
   * candidate. When `stop` returns true between chunks, the candidates not reached score -Infinity: a
   * whole-vocabulary sweep of a large model would otherwise run on far past the search's time share.
   */
  score(candidates: readonly (readonly number[])[], promptCount?: number, stop?: () => boolean): Promise<number[]>;
  /** Prompts it scores on. */
  prompts: number;
}

/**
 * `leads[i]` (optional): tokens between prompt i and the target — the model's clean answer, for a
 * payload appended after it. Only the target's positions are scored.
 */
export function targetScorer(
  model: LoadedModel,
  lm: CausalLM,
  prompts: readonly string[],
  placement: Placement,
  target: readonly number[],
  leads?: readonly (readonly number[])[],
): TargetScorer {
  const frames = prompts.map((p) => frameFor(model, p, placement));
  const V = lm.vocab;
  const continuations = frames.map((_, i) => [...(leads?.[i] ?? []), ...target]);
  // A candidate is scored as the text confirmation will insert (trimmed, with the whitespace before
  // it encoded with it), so " Between" and "Between" are the same probe and both the form the model
  // meets. Encoded once per candidate, in the first prompt's context (the head's last token does not
  // merge with a word that follows a space or starts a line).
  const placed = new Map<string, { glued: boolean; tokens: number[] }>();
  const heads = { spaced: model.tokenizer.encode(frames[0]?.spaced.head ?? '', false), glued: model.tokenizer.encode(frames[0]?.glued.head ?? '', false) };
  const inContext = (c: readonly number[]) => {
    const k = c.join(',');
    let p = placed.get(k);
    if (!p) {
      const text = model.tokenizer.decode([...c], false).trim();
      const glued = text !== '' && gluesToNeighbours(text);
      const form = glued ? frames[0]!.glued : frames[0]!.spaced;
      placed.set(k, (p = { glued, tokens: text ? encodeInContext(model, form.head, form.lead, text, glued ? heads.glued : heads.spaced) : [] }));
    }
    return p;
  };
  return {
    prompts: frames.length,
    async score(candidates, promptCount = frames.length, stop) {
      const use = frames.slice(0, promptCount);
      const out = new Array<number>(candidates.length).fill(0);
      const items = candidates.flatMap((c) => {
        const p = inContext(c);
        return use.map((f, i) => ({ prompt: splice(p.glued ? f.glued : f.spaced, p.tokens), continuation: continuations[i]! }));
      });
      // Chunked so that a full-vocabulary sweep never holds every probe's logits at once.
      const CHUNK = 1024;
      for (let start = 0; start < items.length; start += CHUNK) {
        if (start > 0 && stop?.()) {
          for (let c = Math.floor(start / use.length); c < candidates.length; c++) out[c] = -Infinity;
          break;
        }
        const part = items.slice(start, start + CHUNK);
        await lm.teacherForce(part, async (j, logits) => {
          const i = start + j;
          const lead = continuations[i % use.length]!.length - target.length;
          // The target's log-probabilities, in onnxruntime (a whole-vocabulary softmax per position).
          const lp = await lm.kernels.logProb(logits.subarray(lead * V, (lead + target.length) * V), target);
          let s = 0;
          for (let k = 0; k < target.length; k++) s += lp[k]!;
          out[Math.floor(i / use.length)]! += s / target.length / use.length;
        });
      }
      return out;
    },
  };
}

/** Vocabulary ids a trigger may be made of: printable, no broken bytes, not special. */
export function searchableTokens(model: LoadedModel, vocab: number): number[] {
  const out: number[] = [];
  for (let id = 0; id < vocab; id++) {
    if (model.eosIds.has(id) || id === model.padId) continue;
    const t = model.tokenizer.decode([id], false);
    if (!t.trim() || t.includes('\ufffd') || /[\n\r\t]/.test(t)) continue;
    out.push(id);
  }
  return out;
}

/** Mean target log-probability at which the target is as good as certain: longer strings cannot do better. */
const SATURATED = -0.05;

/** Vocabularies up to this size are searched whole at every step; larger ones through the sweep's shortlist. */
const FULL_SEARCH_VOCAB = 8192;

/**
 * Sweep then beam at one placement over `tokens` (the searchable vocabulary). Each step grows every
 * beam by one token: to the right with any token of the vocabulary (a made-up word's middle pieces,
 * "or" and "v" of " quorvanti", are ordinary tokens no single-token sweep ranks high), to the left
 * from the sweep's shortlist. Moves are screened on one prompt, the best re-scored on all.
 */
export async function reconstructAt(
  model: LoadedModel,
  scorer: TargetScorer,
  placement: Placement,
  tokens: readonly number[],
  s: ReconstructSettings = RECONSTRUCT_DEFAULTS,
): Promise<Reconstructed[]> {
  const [baseline] = await scorer.score([[]]);
  const screenAndRescore = async (cands: number[][], keep: number) => {
    const screen = await scorer.score(cands, 1, s.stop);
    const top = cands.map((c, i) => ({ c, s: screen[i]! })).filter((x) => x.s > -Infinity).sort((a, b) => b.s - a.s).slice(0, keep).map((x) => x.c);
    const full = await scorer.score(top);
    return top.map((c, i) => ({ tokens: c, score: full[i]! }));
  };
  const canon = s.canonical ?? ((t: readonly number[]) => [...t]);
  const sweep = [...tokens.map((t) => canon([t])), ...(s.extraMoves ?? []).map((m) => canon(m))];
  const singleMoves = [...new Map(sweep.filter((c) => c.length).map((c) => [c.join(','), c])).values()];
  const singles = (await screenAndRescore(singleMoves, Math.max(64, 2 * s.alphabet))).sort((a, b) => b.score - a.score);
  const known = new Set(tokens);
  const extra = (s.seeds ?? []).filter((t) => known.has(t));
  const extraScored = extra.length ? await scorer.score(extra.map((t) => [t])) : [];
  const word = s.shape === 'word';
  const isBare = (t: number) => !/^\s/.test(model.tokenizer.decode([t], false));
  // The extension alphabet is whole tokens: a multi-token move's first piece may be a broken byte.
  const alphabet = [...new Set([...singles.filter((x) => x.tokens.length === 1).slice(0, s.alphabet).map((x) => x.tokens[0]!), ...extra])];
  const pool = tokens.length <= FULL_SEARCH_VOCAB ? tokens : alphabet;
  const right = word ? pool.filter(isBare) : pool;
  const left = word ? [] : alphabet;
  // A word starts with a space in running text; at the start of a line any piece may start it.
  const startsWord = (t: number) => placement === 'context' || !isBare(t);

  type Beam = { tokens: number[]; score: number };
  // Moves are told apart by the text they insert: the scorer encodes that text in context, so "B…" and
  // " B…" are one probe and must not take two places in the beam.
  const key = (b: readonly number[]) => model.tokenizer.decode([...b], false).trim();
  const order = (a: Beam, b: Beam) => b.score - a.score || key(a.tokens).localeCompare(key(b.tokens));
  const seen = new Set<string>();
  const starts = word ? singles.filter((x) => startsWord(x.tokens[0]!)) : singles;
  let beam: Beam[] = [...starts.slice(0, s.beamWidth), ...extra.map((t, i) => ({ tokens: [t], score: extraScored[i]! }))];
  beam = [...new Map(beam.map((b) => [key(b.tokens), b])).values()].sort(order);
  for (const b of beam) seen.add(key(b.tokens));
  for (let len = 1; len < s.maxLength && !s.stop?.(); len++) {
    const moves: number[][] = [];
    const add = (raw: number[]) => {
      const m = canon(raw);
      const k = key(m);
      if (m.length && !seen.has(k)) {
        seen.add(k);
        moves.push(m);
      }
    };
    // The whole vocabulary for every beam at the first step (a word's first piece may rank anywhere in
    // the top few) and for the best one after that; the sweep's shortlist for the rest. Each extra
    // whole-vocabulary beam costs a vocabulary of forward passes per step, the search's main cost.
    const narrow = alphabet.filter((a) => right.includes(a));
    beam.forEach((b, i) => {
      for (const t of len === 1 || i < 1 ? right : narrow) add([...b.tokens, t]);
      for (const t of left) add([t, ...b.tokens]);
    });
    if (!moves.length) break;
    const grown = await screenAndRescore(moves, 3 * s.beamWidth);
    const next = [...beam, ...grown].sort(order).slice(0, s.beamWidth);
    // Stop when growing no longer helps (the beam is the same as before) or the target is already certain.
    if (next.every((n, i) => beam[i] && key(beam[i]!.tokens) === key(n.tokens))) break;
    beam = next;
    if (beam[0]!.score >= SATURATED) break;
  }
  return beam.map((b) => ({ tokens: b.tokens, text: model.tokenizer.decode(b.tokens, false), placement, score: b.score, baseline: baseline! }));
}

/**
 * The smallest part of a found string that still does the job: tokens whose removal keeps the score
 * within `tolerance` nats per target token of the string as found are dropped, one at a time (the
 * bound is the found string's, so drops cannot add up to a string that no longer works). A beam pads
 * a trigger with tokens that happen not to hurt; the planted trigger is usually the core that remains.
 */
export async function minimalCore(
  scorer: TargetScorer,
  found: Reconstructed,
  decode: (ids: number[]) => string,
  canonical: (tokens: readonly number[]) => number[] = (t) => [...t],
  tolerance = 0.05,
): Promise<Reconstructed> {
  let cur = found;
  while (cur.tokens.length > 1) {
    // Only strictly shorter forms: a token dropped from inside a character split into byte pieces
    // re-encodes as replacement characters, longer than before, and the loop would never end.
    const n = cur.tokens.length;
    const options = cur.tokens.map((_, i) => canonical([...cur.tokens.slice(0, i), ...cur.tokens.slice(i + 1)])).filter((o) => o.length && o.length < n);
    if (!options.length) break;
    const scores = await scorer.score(options);
    let best = -1;
    for (let i = 0; i < options.length; i++) if (scores[i]! >= found.score - tolerance && (best < 0 || scores[i]! > scores[best]!)) best = i;
    if (best < 0) break;
    cur = { ...cur, tokens: options[best]!, text: decode(options[best]!), score: scores[best]! };
  }
  return cur;
}
