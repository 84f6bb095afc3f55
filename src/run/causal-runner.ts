import type { LoadedModel } from '../model/load-model.js';
import type { ScanPlan } from '../plan/plan.js';
import { logSoftmaxInPlace, meanJsDivergence } from '../math/divergence.js';
import { CausalLM } from './causal-lm.js';
import type { CleanOutcome, ExecuteOptions, Execution, ModelRunner, ProbeOutcome } from './runner.js';

/** Causal LMs: clean greedy answers, then every probe teacher-forced over its baseline's answer and decoded. */
export function causalRunner(model: LoadedModel): ModelRunner {
  return { execute: (plan, o) => executeCausal(model, plan, o) };
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
        const d = meanJsDivergence(cleanLogProbs[b]!, logits, V, continuations[b]!.length);
        probes[i]!.divergence = d.mean;
        probes[i]!.firstDivergence = d.first;
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
