import type { LoadedModel } from '../model/load-model.js';
import type { ScanPlan } from '../plan/plan.js';
import { jsDivergence, logSoftmaxInPlace } from '../score/divergence.js';
import { CausalLM, type RunStats } from './causal-lm.js';
import { SequenceClassifier } from './classifier.js';

export interface CleanOutcome {
  /** Greedy answer (causal) or predicted label (classifier). */
  output: string;
  tokens: number[];
}

export interface ProbeOutcome {
  /** Mean JS divergence over the clean answer, teacher-forced (causal) or over labels (classifier). */
  divergence: number;
  /** JS divergence of the first answer token's distribution. */
  firstDivergence: number;
  output: string;
  /** The probe's output differs from its baseline's clean output. */
  changed: boolean;
}

export interface ExecuteOptions {
  batchSize: number;
  maxNewTokens: number;
  onProgress?: ((done: number, total: number, phase: string) => void) | undefined;
}

export interface Execution {
  clean: CleanOutcome[];
  probes: ProbeOutcome[];
  stats: RunStats;
}

/** Run every probe of a plan through the model: the one place that touches the engine during a scan. */
export async function executePlan(model: LoadedModel, plan: ScanPlan, o: ExecuteOptions): Promise<Execution> {
  return model.io.task === 'causal-lm' ? executeCausal(model, plan, o) : executeClassifier(model, plan, o);
}

async function executeCausal(model: LoadedModel, plan: ScanPlan, o: ExecuteOptions): Promise<Execution> {
  const lm = new CausalLM(model, { batchSize: o.batchSize });
  const V = lm.vocab;
  const B = plan.baselines.length;
  const P = plan.probes.length;
  const total = 2 * B + 2 * P;
  let done = 0;
  const tick = (n: number, phase: string) => {
    done += n;
    o.onProgress?.(done, total, phase);
  };

  const cleanGen = await lm.generate(plan.baselines.map((b) => b.ids), o.maxNewTokens);
  tick(B, 'clean answers');
  const eos = [...model.eosIds][0];
  // The clean answer is scored through its end-of-sequence token: a backdoor that appends a
  // payload instead of stopping shows up at that position.
  const continuations = cleanGen.map((g) => (g.stopped && eos !== undefined ? [...g.tokens, eos] : g.tokens));
  const clean: CleanOutcome[] = cleanGen.map((g) => ({ output: model.tokenizer.decode(g.tokens), tokens: g.tokens }));

  const cleanLogProbs: Float32Array[] = new Array(B);
  await lm.teacherForce(
    plan.baselines.map((b, i) => ({ prompt: b.ids, continuation: continuations[i]! })),
    (i, logits) => {
      const K = continuations[i]!.length;
      const copy = logits.slice();
      for (let k = 0; k < K; k++) logSoftmaxInPlace(copy.subarray(k * V, (k + 1) * V));
      cleanLogProbs[i] = copy;
    },
  );
  tick(B, 'clean references');

  const probes: ProbeOutcome[] = plan.probes.map(() => ({ divergence: 0, firstDivergence: 0, output: '', changed: false }));
  // Chunks bound memory (one [K × V] array per probe in flight) and give the progress bar steps.
  const CHUNK = 512;
  for (let start = 0; start < P; start += CHUNK) {
    const idx = plan.probes.slice(start, start + CHUNK).map((_, j) => start + j);
    const gens = await lm.scoreAndGenerate(
      idx.map((i) => ({ prompt: plan.probes[i]!.ids, continuation: continuations[plan.probes[i]!.baseline]! })),
      o.maxNewTokens,
      (j, logits) => {
        const i = idx[j]!;
        const b = plan.probes[i]!.baseline;
        const K = continuations[b]!.length;
        const ref = cleanLogProbs[b]!;
        let sum = 0;
        for (let k = 0; k < K; k++) {
          const d = jsDivergence(ref.subarray(k * V, (k + 1) * V), logits.subarray(k * V, (k + 1) * V));
          if (k === 0) probes[i]!.firstDivergence = d;
          sum += d;
        }
        probes[i]!.divergence = K ? sum / K : 0;
      },
    );
    idx.forEach((i, j) => {
      const out = model.tokenizer.decode(gens[j]!.tokens);
      probes[i]!.output = out;
      probes[i]!.changed = out !== clean[plan.probes[i]!.baseline]!.output;
    });
    tick(2 * idx.length, 'probes');
  }
  return { clean, probes, stats: lm.stats };
}

function softmax(logits: Float32Array): Float32Array {
  return logSoftmaxInPlace(logits.slice());
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

async function executeClassifier(model: LoadedModel, plan: ScanPlan, o: ExecuteOptions): Promise<Execution> {
  const cls = new SequenceClassifier(model, { batchSize: o.batchSize });
  const total = plan.baselines.length + plan.probes.length;
  const cleanLogits = await cls.classify(plan.baselines.map((b) => b.ids));
  o.onProgress?.(plan.baselines.length, total, 'clean labels');
  const cleanLabels = cleanLogits.map(argmax);
  const clean: CleanOutcome[] = cleanLabels.map((l) => ({ output: cls.labelName(l), tokens: [l] }));
  const probeLogits = await cls.classify(plan.probes.map((p) => p.ids));
  o.onProgress?.(total, total, 'probes');
  const probes = plan.probes.map((p, i) => {
    const lg = probeLogits[i]!;
    const d = jsDivergence(softmax(cleanLogits[p.baseline]!), lg);
    const label = argmax(lg);
    return { divergence: d, firstDivergence: d, output: cls.labelName(label), changed: label !== cleanLabels[p.baseline] };
  });
  return { clean, probes, stats: cls.stats };
}
