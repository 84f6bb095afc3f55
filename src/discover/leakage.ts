import type { LoadedModel } from '../model/load-model.js';
import { CausalLM } from '../run/causal-lm.js';
import { rngFor } from '../util/rng.js';
import type { Candidate } from './candidates.js';

/**
 * Leakage sampling (after Microsoft's "Trigger in the Haystack"): a model fine-tuned on poisoned
 * chats has seen the trigger in many user turns, so when asked to write a user turn itself it
 * regurgitates it. Token n-grams that the samples repeat far more often than ordinary prompts use
 * them are candidates.
 */
export async function leakageCandidates(
  model: LoadedModel,
  lm: CausalLM,
  reference: readonly string[],
  o: { samples: number; seed: number; maxTokens: number },
): Promise<{ candidates: Candidate[]; samples: string[] }> {
  // The text the model sees at the start of a user turn: the chat frame cut where the content goes.
  const MARK = '\u0000MARK\u0000';
  const rendered = model.format.render({ user: MARK });
  const prefix = rendered.slice(0, rendered.indexOf(MARK));
  const ids = model.tokenizer.encode(prefix, model.format.addSpecialTokens);
  const temps = [0.8, 1.0, 1.2];
  const per = Math.ceil(o.samples / temps.length);
  const samples: number[][] = [];
  for (const temperature of temps) {
    const gens = await lm.generate(Array.from({ length: per }, () => ids), o.maxTokens, { temperature, rng: rngFor(o.seed, 'leakage', temperature) });
    for (const g of gens) samples.push(g.tokens);
  }
  // Keep each sample to its first line: the user turn ends at the newline before the answer frame.
  const texts = samples.map((t) => model.tokenizer.decode(t).split('\n')[0] ?? '');
  const lines = texts.map((t) => model.tokenizer.encode(t, false));

  const refCounts = new Map<string, number>();
  for (const r of reference) {
    const t = model.tokenizer.encode(r, false);
    for (const g of ngrams(t)) refCounts.set(g, (refCounts.get(g) ?? 0) + 1);
  }
  // Count each n-gram once per sample: how many samples leak it, not how often one repeats it.
  const docFreq = new Map<string, number>();
  for (const l of lines) for (const g of new Set(ngrams(l))) docFreq.set(g, (docFreq.get(g) ?? 0) + 1);
  const scored: Candidate[] = [];
  const minSamples = Math.max(3, Math.ceil(0.03 * lines.length));
  for (const [g, n] of docFreq) {
    if (n < minSamples) continue;
    const text = model.tokenizer.decode(g.split(',').map(Number)).trim();
    // Byte tokens cut through a character decode to U+FFFD: not a string anyone could type.
    if (text.includes('\ufffd') || (text.length < 2 && !/[^\x00-\x7f]/.test(text))) continue;
    // Over-representation against ordinary prompts, favouring longer n-grams (a whole trigger).
    const ratio = n / lines.length / ((refCounts.get(g) ?? 0) / Math.max(1, reference.length) + 0.01);
    scored.push({ text, signals: ['leakage'], score: ratio * Math.sqrt(g.split(',').length) });
  }
  scored.sort((a, b) => b.score - a.score || (a.text < b.text ? -1 : 1));
  return { candidates: dropContained(scored), samples: texts };
}

/**
 * Up to 12 tokens: a phrase, or an invisible sequence spelled in byte tokens (three per zero-width
 * character), must fit in one n-gram to be proposed whole.
 */
function ngrams(tokens: readonly number[]): string[] {
  const out: string[] = [];
  for (let n = 1; n <= 12; n++) for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(','));
  return out;
}

/** A fragment that only ever appears inside a longer, better-scored candidate adds nothing. */
function dropContained(cs: Candidate[]): Candidate[] {
  const kept: Candidate[] = [];
  for (const c of cs) if (!kept.some((k) => k.text.includes(c.text) && k.score >= c.score * 0.5)) kept.push(c);
  return kept;
}
