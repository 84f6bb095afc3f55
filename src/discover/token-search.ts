import type { LoadedModel } from '../model/load-model.js';
import type { CausalLM } from '../run/causal-lm.js';
import { jsDivergence, logSoftmaxInPlace } from '../math/divergence.js';
import type { Candidate } from './candidates.js';

/**
 * Probes built at the token level: the frame's text before the user turn, the candidate tokens,
 * then the prompt. Splicing ids (rather than text) lets partial UTF-8 byte tokens be tried and
 * chained into invisible-character sequences.
 */
export interface TokenProber {
  /** Mean first-token JS divergence over the probe baselines, one value per token sequence. */
  score(seqs: readonly (readonly number[])[]): Promise<number[]>;
}

export async function tokenProber(model: LoadedModel, lm: CausalLM, prompts: readonly string[]): Promise<TokenProber> {
  const MARK = '\u0000MARK\u0000';
  const frames = prompts.map((p) => {
    const rendered = model.format.render({ user: `${MARK}${p}` });
    const at = rendered.indexOf(MARK);
    return {
      before: model.tokenizer.encode(rendered.slice(0, at), model.format.addSpecialTokens),
      after: model.tokenizer.encode(` ${rendered.slice(at + MARK.length)}`, false),
      clean: model.tokenizer.encode(model.format.render({ user: p }), model.format.addSpecialTokens),
    };
  });
  const clean = (await lm.nextTokenLogits(frames.map((f) => f.clean))).map((l) => logSoftmaxInPlace(l));
  return {
    async score(seqs) {
      const probes = seqs.flatMap((s) => frames.map((f) => [...f.before, ...s, ...f.after]));
      const out = new Array<number>(seqs.length).fill(0);
      // Chunked so that a full-vocabulary sweep never holds all logits at once.
      const CHUNK = 2048;
      for (let start = 0; start < probes.length; start += CHUNK) {
        const logits = await lm.nextTokenLogits(probes.slice(start, start + CHUNK));
        logits.forEach((l, j) => {
          const i = start + j;
          out[Math.floor(i / frames.length)]! += jsDivergence(clean[i % frames.length]!, l) / frames.length;
        });
      }
      return out;
    },
  };
}

const valid = (model: LoadedModel, seq: readonly number[]) => {
  const t = model.tokenizer.decode(seq, false);
  return t.length > 0 && !t.includes('\ufffd') && t.trim().length + (t.match(/[^\x00-\x7f]/g)?.length ?? 0) > 0;
};

/**
 * Extend each seed greedily, one token at a time on either side, from a small alphabet of
 * promising tokens, while the divergence keeps growing; a multi-token trigger lights up piece by piece.
 */
export async function extendGreedily(
  model: LoadedModel,
  prober: TokenProber,
  seeds: readonly number[][],
  alphabet: readonly number[],
  o: { maxLength: number; signal: string },
): Promise<Candidate[]> {
  const out: Candidate[] = [];
  for (const seed of seeds) {
    let best = [...seed];
    let bestScore = (await prober.score([best]))[0]!;
    while (best.length < o.maxLength) {
      const options = alphabet.flatMap((t) => [[...best, t], [t, ...best]]);
      const scores = await prober.score(options);
      let k = -1;
      for (let i = 0; i < options.length; i++) if (scores[i]! > bestScore * 1.05 && (k < 0 || scores[i]! > scores[k]!)) k = i;
      if (k < 0) break;
      best = options[k]!;
      bestScore = scores[k]!;
    }
    // Report every valid prefix of the chain too: the trigger may be shorter than the chain.
    for (let n = best.length; n >= 1; n--) {
      for (let s = 0; s + n <= best.length; s++) {
        const sub = best.slice(s, s + n);
        if (valid(model, sub)) out.push({ text: model.tokenizer.decode(sub, false), signals: [o.signal], score: bestScore * (n / best.length) });
      }
    }
  }
  out.sort((a, b) => b.score - a.score || (a.text < b.text ? -1 : 1));
  return out;
}

/** Every vocabulary token inserted before the prompt; the most disruptive seed the greedy search. */
export async function vocabularySweep(model: LoadedModel, prober: TokenProber, vocab: number, o: { top: number; maxLength: number }): Promise<Candidate[]> {
  const ids = Array.from({ length: vocab }, (_, i) => i).filter((i) => !model.eosIds.has(i) && i !== model.padId);
  const scores = await prober.score(ids.map((i) => [i]));
  const ranked = ids.map((id, k) => ({ id, s: scores[k]! })).sort((a, b) => b.s - a.s || a.id - b.id);
  const top = ranked.slice(0, o.top).map((r) => r.id);
  return extendGreedily(model, prober, top.slice(0, Math.ceil(o.top / 2)).map((t) => [t]), top, { maxLength: o.maxLength, signal: 'vocabulary-sweep' });
}
