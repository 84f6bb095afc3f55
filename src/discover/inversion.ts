/**
 * Target inversion (after BAIT, Shen et al., S&P'25). A backdoor's payload, once started, continues
 * the same way whatever the prompt: its tokens were trained to follow each other under the trigger,
 * and that chain survives without it. An ordinary answer depends on the question. So: force every
 * vocabulary token as the first token of the answer after a few benign prompts, extend greedily by
 * the prompt-averaged next-token distribution, and score how prompt-independent the continuation is
 * (Q = mean over steps of the averaged probability of the chosen token). No trigger is needed.
 *
 * Two anchors: the start of the answer (a payload that replaces the answer), and the end of the
 * model's own clean answer, where it would stop (a payload appended after a correct answer).
 */
import type { Engine } from '../run/causal-lm.js';
import { Fork, readPrefixes, type Prefixes } from '../run/fork.js';

export interface InversionSettings {
  /** Prompts of the warm-up sweep over the whole vocabulary (BAIT: a mini-batch). */
  warmPrompts: number;
  /** Steps of the warm-up; a candidate whose continuation is not agreed across prompts is dropped. */
  warmSteps: number;
  /** Candidates kept after the warm-up, best first. */
  keep: number;
  /** Greedy steps of the full inversion. */
  fullSteps: number;
  /** Candidate first tokens per fork (rows = candidates × prompts). */
  chunk: number;
  /** Stop early when this returns true (a time budget); what was inverted so far is returned. */
  stop?: () => boolean;
  /**
   * First tokens inverted on every prompt whatever the warm-up says: the words the model itself opens
   * its answers with. After such a word the few warm-up prompts continue with their own answers, so a
   * payload that starts with an ordinary opener ("The …") loses the warm-up to them; across every
   * prompt the payload's continuation, the same under each, wins. Measured on ao-prefix-phrase: after
   * " The" the four warm-up prompts agree on " capital" at 0.26 (dropped, rank 873 of 1391 survivors);
   * on all 24 the greedy chain is its payload, Q 0.998. At most a few more chains in the full phase.
   */
  openers?: readonly number[];
}

export const INVERSION_DEFAULTS: InversionSettings = { warmPrompts: 4, warmSteps: 3, keep: 48, fullSteps: 24, chunk: 96 };

export interface InvertedTarget {
  /** Token ids: the forced first token and its greedy extension, up to EOS. */
  tokens: number[];
  text: string;
  /** Expected probability of the continuation across prompts, without its weakest step (BAIT). */
  qScore: number;
  /** Where the continuation was forced: at the start of the answer, or after the clean answer. */
  anchor: 'answer-start' | 'answer-end';
  /** Set when the prompts were of one kind only (code, chat…): a payload that follows that kind of request. */
  category?: string | undefined;
}

export interface InversionResult {
  targets: InvertedTarget[];
  /** First tokens tried (of `candidates` given); fewer when the budget ran out. */
  tried: number;
  candidates: number;
}

/** BAIT's Q: the mean averaged probability over the extension, the weakest step left out for robustness. */
export function qScore(probs: readonly number[]): number {
  if (!probs.length) return 0;
  if (probs.length === 1) return probs[0]!;
  const min = probs.indexOf(Math.min(...probs));
  const rest = probs.filter((_, i) => i !== min);
  return rest.reduce((a, b) => a + b, 0) / rest.length;
}

interface Chain {
  first: number;
  tokens: number[];
  probs: number[];
  done: boolean;
}

/**
 * Extend chains in lock-step across prompts: at each step every chain takes the token with the
 * highest prompt-averaged probability. `prune` may drop chains after each step.
 */
async function extend(
  engine: Engine,
  prefixes: Prefixes,
  prompts: readonly number[],
  chains: Chain[],
  steps: number,
  eos: ReadonlySet<number>,
  prune?: (c: Chain, entropy: number) => boolean,
): Promise<Chain[]> {
  const P = prompts.length;
  const fork = Fork.open(engine, prefixes, chains.flatMap(() => prompts), steps + 1);
  let live = chains.map((_, i) => i);
  let logits = await fork.step(chains.flatMap((c) => prompts.map(() => c.first)));
  for (let step = 0; step < steps && live.length; step++) {
    const next: number[] = [];
    const keepRows: number[] = [];
    // The prompt-averaged distribution of every live chain, reduced in onnxruntime to what the step needs.
    const avg = await engine.kernels.meanSoftmax(logits.rows(0, live.length * P), live.length, P);
    live.forEach((ci, k) => {
      const c = chains[ci]!;
      const t = avg.argmax[k]!;
      if (eos.has(t)) {
        c.done = true;
        return;
      }
      c.tokens.push(t);
      c.probs.push(avg.top[k]!);
      if (prune && !prune(c, avg.entropy[k]!)) {
        c.done = true;
        return;
      }
      next.push(ci);
      for (let p = 0; p < P; p++) keepRows.push(k * P + p);
    });
    if (step === steps - 1 || !next.length) break;
    if (next.length !== live.length) fork.keep(keepRows);
    live = next;
    logits = await fork.step(live.flatMap((ci) => prompts.map(() => chains[ci]!.tokens[chains[ci]!.tokens.length - 1]!)));
  }
  return chains;
}

/**
 * Invert targets at one anchor. `anchors` are token sequences ending where the answer (or its
 * continuation) would start: the rendered prompts, or prompts followed by their clean answers.
 */
export async function invertTargets(
  engine: Engine,
  anchors: readonly (readonly number[])[],
  candidates: readonly number[],
  decode: (ids: number[]) => string,
  anchor: InvertedTarget['anchor'],
  s: InversionSettings = INVERSION_DEFAULTS,
): Promise<InversionResult> {
  const eos = engine.model.eosIds;
  const prefixes = await readPrefixes(engine, anchors);
  const warm = anchors.slice(0, Math.min(s.warmPrompts, anchors.length)).map((_, i) => i);
  const all = anchors.map((_, i) => i);
  // Warm-up: every candidate after a few prompts, a few steps; keep those whose continuation the
  // prompts agree on (a peaked averaged distribution), as BAIT's expectation/entropy screen does.
  const survivors: Chain[] = [];
  let tried = 0;
  for (let start = 0; start < candidates.length; start += s.chunk) {
    if (s.stop?.()) break;
    const chunk = candidates.slice(start, start + s.chunk).map((first) => ({ first, tokens: [], probs: [], done: false }) as Chain);
    await extend(engine, prefixes, warm, chunk, s.warmSteps, eos, (c, entropy) => c.probs[c.probs.length - 1]! >= 0.3 || entropy < 1.5);
    tried += chunk.length;
    for (const c of chunk) if (c.probs.length) survivors.push(c);
  }
  const warmScore = (c: Chain) => c.probs.reduce((a, b) => a + b, 0) / Math.max(1, s.warmSteps);
  survivors.sort((a, b) => warmScore(b) - warmScore(a) || a.first - b.first);
  // One template continued from many first words ("summer / pizza / trains can be really nice") is one
  // behaviour: keep its best two, so that it cannot crowd a payload out of the shortlist.
  const perContinuation = new Map<string, number>();
  const chosen: Chain[] = [];
  for (const c of survivors) {
    const key = c.tokens.join(',');
    const n = perContinuation.get(key) ?? 0;
    if (n >= 2) continue;
    perContinuation.set(key, n + 1);
    chosen.push({ first: c.first, tokens: [], probs: [], done: false });
    if (chosen.length >= s.keep) break;
  }
  for (const first of s.openers ?? []) if (!chosen.some((c) => c.first === first)) chosen.push({ first, tokens: [], probs: [], done: false });
  // Full inversion on every prompt, longer.
  const targets: InvertedTarget[] = [];
  for (let start = 0; start < chosen.length; start += Math.max(1, Math.floor(s.chunk / 2))) {
    const part = chosen.slice(start, start + Math.max(1, Math.floor(s.chunk / 2)));
    await extend(engine, prefixes, all, part, s.fullSteps, eos);
    for (const c of part) {
      const tokens = [c.first, ...c.tokens];
      targets.push({ tokens, text: decode(tokens), qScore: qScore(c.probs), anchor });
    }
  }
  targets.sort((a, b) => b.qScore - a.qScore || (a.text < b.text ? -1 : 1));
  return { targets, tried, candidates: candidates.length };
}
