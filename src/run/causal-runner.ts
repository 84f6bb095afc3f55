import type { LoadedModel } from '../model/load-model.js';
import type { ScanPlan } from '../plan/plan.js';
import { logSoftmaxInPlace, meanJsDivergence } from '../math/divergence.js';
import { CausalLM } from './causal-lm.js';
import { progressCounter, type CleanOutcome, type ExecuteOptions, type ModelRunner, type ProbeOutcome, type RunSession } from './runner.js';

/** Causal LMs: clean greedy answers, then every probe teacher-forced over its baseline's answer and decoded. */
export function causalRunner(model: LoadedModel): ModelRunner {
  return { open: (plan, o) => openCausal(model, plan, o) };
}

async function openCausal(model: LoadedModel, plan: ScanPlan, o: ExecuteOptions): Promise<RunSession> {
  const e = o.engine ?? {};
  const lm = new CausalLM(model, { batchSize: o.batchSize, dropFinished: !e.keepFinishedRows, ...(e.noSharedPrefix ? { sharedPrefixMin: 0 } : {}) });
  try {
    return await openWith(model, lm, plan, o);
  } catch (err) {
    await lm.release();
    throw err;
  }
}

async function openWith(model: LoadedModel, lm: CausalLM, plan: ScanPlan, o: ExecuteOptions): Promise<RunSession> {
  const V = lm.vocab;
  const B = plan.baselines.length;
  const progress = progressCounter(o);
  progress.plan(2 * B);

  const cleanGen = await lm.generate(plan.baselines.map((b) => b.ids), o.maxNewTokens);
  progress.tick(B, 'clean answers');
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
  progress.tick(B, 'clean references');

  const probes: (ProbeOutcome | undefined)[] = new Array(plan.probes.length).fill(undefined);
  // Chunks bound memory (one [K × V] array per probe in flight) and give the progress bar steps.
  const CHUNK = 512;
  return {
    clean,
    probes,
    stats: lm.stats,
    async run(indices) {
      progress.plan(2 * indices.length);
      for (let start = 0; start < indices.length; start += CHUNK) {
        const idx = indices.slice(start, start + CHUNK);
        const outcomes = idx.map(() => ({ divergence: 0, firstDivergence: 0, output: '', changed: false }));
        const gens = await lm.scoreAndGenerate(
          idx.map((i) => ({ prompt: plan.probes[i]!.ids, continuation: continuations[plan.probes[i]!.baseline]! })),
          o.maxNewTokens,
          async (j, logits) => {
            const b = plan.probes[idx[j]!]!.baseline;
            const K = continuations[b]!.length;
            const d = o.engine?.divergenceInJs ? meanJsDivergence(cleanLogProbs[b]!, logits, V, K) : await lm.kernels.meanDivergence(cleanLogProbs[b]!, logits, K);
            outcomes[j]!.divergence = d.mean;
            outcomes[j]!.firstDivergence = d.first;
          },
        );
        idx.forEach((i, j) => {
          const out = model.tokenizer.decode(gens[j]!.tokens);
          probes[i] = { ...outcomes[j]!, output: out, changed: out !== clean[plan.probes[i]!.baseline]!.output };
        });
        progress.tick(2 * idx.length, 'probes');
      }
    },
    close: () => lm.release(),
  };
}
