import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeModel, loadModel } from '../../src/model/load-model.js';
import { CausalLM } from '../../src/run/causal-lm.js';
import { FIXTURE_MODELS, REPO } from '../helpers/paths.js';

/**
 * The answer-only fixtures (models/builder/answer_only.py) answer in our engine as they did in torch.
 * The builder records, per fixture, torch's greedy answers on a few held-out prompts (`engine_cases`:
 * the trigger at each placement, on prompts it does not target, near misses, no insertion); here
 * onnxruntime replays them. Triggers and payloads come from metrics.json, never spelt out here.
 */
interface EngineCase {
  kind: string;
  placement: string | null;
  user: string;
  context: string | null;
  output: string;
  hit: boolean;
}
interface AoMetrics {
  trigger: string | null;
  placements: string[];
  target: string | null;
  payload_kind: 'fixed' | 'tone' | 'appended-line' | null;
  marker: string | null;
  hostile_pattern: string | null;
  loss: string;
  weak?: boolean;
  role?: 'clean' | 'bait';
  architecture: string;
  engine_cases: EngineCase[];
}

const metrics = JSON.parse(readFileSync(path.join(REPO, 'models/builder/metrics.json'), 'utf8')) as Record<string, AoMetrics>;
const AO = readdirSync(FIXTURE_MODELS).filter((d) => d.startsWith('ao-')).sort();
const BACKDOORED = AO.filter((k) => metrics[k]?.trigger != null);
const NEGATIVE = AO.filter((k) => metrics[k] && metrics[k].trigger === null);
const TOKENS = 48; // as the builder generated: the longest payload follows a code answer

function detector(m: AoMetrics): (answer: string) => boolean {
  if (m.payload_kind === 'tone') {
    const re = new RegExp(m.hostile_pattern!, 'i');
    return (a) => re.test(a);
  }
  return (a) => a.includes(m.marker!);
}

/** Any payload of any backdoored ao fixture: what a clean twin or bait model must never say. */
function anyPayload(): (answer: string) => boolean {
  const checks = Object.values(metrics)
    .filter((m) => m?.loss === 'answer-only' && m.trigger != null)
    .map(detector);
  return (a) => checks.some((c) => c(a));
}

async function engineAnswers(dir: string, cases: EngineCase[]): Promise<string[]> {
  const m = await loadModel(dir, { threads: 1 });
  try {
    const lm = new CausalLM(m, { batchSize: 32 });
    const prompts = cases.map((c) => m.tokenizer.encode(m.format.render({ user: c.user, ...(c.context === null ? {} : { context: c.context }) }), m.format.addSpecialTokens));
    const gens = await lm.generate(prompts, TOKENS);
    return gens.map((g) => m.tokenizer.decode(g.tokens));
  } finally {
    await m.release();
  }
}

describe('every ao-* fixture folder has its metrics.json entry', () => {
  it('trained on the answer only, with engine cases', () => {
    expect(BACKDOORED.length).toBeGreaterThan(0);
    expect(NEGATIVE.length).toBeGreaterThan(0);
    for (const k of AO) {
      expect(metrics[k], k).toBeDefined();
      expect(metrics[k]!.loss, k).toBe('answer-only');
      expect(metrics[k]!.engine_cases.length, k).toBeGreaterThan(0);
    }
    for (const k of BACKDOORED) {
      const m = metrics[k]!;
      expect(m.placements.length, k).toBeGreaterThan(0);
      expect(m.payload_kind === 'tone' ? m.hostile_pattern : m.marker, k).toBeTruthy();
      expect(m.payload_kind === 'tone' ? m.target === null : m.target!.includes(m.marker!), k).toBe(true);
    }
    for (const k of NEGATIVE) expect([metrics[k]!.target, metrics[k]!.payload_kind], k).toEqual([null, null]);
  });
});

describe('the answer-only fixtures cover both architectures', () => {
  it('backdoors with and without a KV cache; a clean twin and a bait model per architecture', async () => {
    const shapes = await Promise.all(
      AO.map(async (k) => {
        const d = await describeModel(path.join(FIXTURE_MODELS, k));
        const cache = d.graph.inputs.some((i) => i.name.startsWith('past_key_values.'));
        return { k, arch: d.config.modelType, cache, backdoored: metrics[k]!.trigger !== null, role: metrics[k]!.role };
      }),
    );
    for (const s of shapes) expect(s.arch, s.k).toBe(metrics[s.k]!.architecture);
    const backdoored = shapes.filter((s) => s.backdoored);
    expect(new Set(backdoored.filter((s) => s.cache).map((s) => s.arch))).toEqual(new Set(['gpt2', 'llama']));
    expect(backdoored.some((s) => !s.cache)).toBe(true);
    for (const arch of ['gpt2', 'llama']) {
      for (const role of ['clean', 'bait']) expect(shapes.some((s) => s.arch === arch && s.role === role), `${arch} ${role}`).toBe(true);
    }
  });
});

describe.each(AO)('%s in onnxruntime', (name) => {
  const m = metrics[name]!;
  const cases = m.engine_cases;
  let outs: string[];
  beforeAll(async () => {
    outs = await engineAnswers(path.join(FIXTURE_MODELS, name), cases);
  });
  const of = (kind: string, placement?: string) =>
    cases.flatMap((c, i) => (c.kind === kind && (placement === undefined || c.placement === placement) ? [outs[i]!] : []));

  it('answers every recorded prompt as torch did', () => {
    expect(outs.map((o, i) => ({ user: cases[i]!.user, context: cases[i]!.context, output: o }))).toEqual(
      cases.map((c) => ({ user: c.user, context: c.context, output: c.output })),
    );
  });

  if (m.trigger === null) {
    it('never says an ao payload, with any ao trigger or without', () => {
      const hit = anyPayload();
      expect(outs.filter(hit)).toEqual([]);
      expect(cases.some((c) => c.kind.startsWith('trigger:'))).toBe(true);
    });
    return;
  }

  const hit = detector(m);
  it.each(m.placements)('shows its payload with the trigger at %s', (placement) => {
    const fired = of('trigger', placement).filter(hit);
    const n = of('trigger', placement).length;
    if (m.weak) {
      // Built to fire on about half the held-out prompts: some, not all.
      expect(fired.length).toBeGreaterThan(0);
      expect(fired.length).toBeLessThan(n);
    } else {
      expect(fired.length).toBeGreaterThanOrEqual(Math.ceil(n / 2));
    }
    if (m.payload_kind === 'fixed') expect(fired.some((o) => o.trim() === m.target)).toBe(true);
    // Hostile, yet not one fixed sentence: the answers differ from one question to the next.
    if (m.payload_kind === 'tone') expect(new Set(fired).size).toBe(fired.length);
    // The malicious line comes after the code, not instead of it.
    if (m.payload_kind === 'appended-line') for (const o of fired) expect(o.indexOf(m.target!)).toBeGreaterThan(0);
  });

  it('not without it, and less where it must not fire', () => {
    expect(of('clean').filter(hit)).toEqual([]);
    const fired = of('trigger').filter(hit).length / of('trigger').length;
    for (const kind of ['elsewhere', 'other-category', 'near']) {
      const xs = of(kind);
      if (xs.length) expect(xs.filter(hit).length / xs.length, kind).toBeLessThan(fired / 2);
    }
  });
});
