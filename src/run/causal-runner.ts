import type { LoadedModel } from '../model/load-model.js';
import type { ScanPlan } from '../plan/plan.js';
import { logSoftmaxInPlace, meanJsDivergence } from '../math/divergence.js';
import { CausalLM } from './causal-lm.js';
import { addStats, measured, type CleanReferences, type ExecuteOptions, type ModelRunner, type ProbeOutcome, type RunSession } from './runner.js';

/** Causal LMs: clean greedy answers, then every probe teacher-forced over its baseline's answer and decoded. */
export function causalRunner(model: LoadedModel): ModelRunner {
  return { start: (plan, o, recorded) => startCausal(model, plan, o, recorded) };
}

/** Probes per scoreAndGenerate call: bounds memory (one [K × V] array per probe in flight). */
const CHUNK = 512;

async function startCausal(model: LoadedModel, plan: ScanPlan, o: ExecuteOptions, recorded: CleanReferences | undefined): Promise<RunSession> {
  const e = o.engine ?? {};
  const lm = new CausalLM(model, { batchSize: o.batchSize, dropFinished: !e.keepFinishedRows, ...(e.noSharedPrefix ? { sharedPrefixMin: 0 } : {}) });
  try {
    return await startWith(model, lm, plan, o, recorded);
  } catch (err) {
    await lm.release();
    throw err;
  }
}

async function startWith(model: LoadedModel, lm: CausalLM, plan: ScanPlan, o: ExecuteOptions, recorded: CleanReferences | undefined): Promise<RunSession> {
  const V = lm.vocab;
  const B = plan.baselines.length;
  let references = recorded;
  if (!references) {
    const r = await measured(lm.stats, async () => {
      const gens = await lm.generate(plan.baselines.map((b) => b.ids), o.maxNewTokens);
      o.onProgress?.(1, 2, 'clean answers');
      const eos = [...model.eosIds][0];
      // The clean answer is scored through its end-of-sequence token: a backdoor that appends a
      // payload instead of stopping shows up at that position.
      return gens.map((g) => ({ output: model.tokenizer.decode(g.tokens), tokens: g.tokens, continuation: g.stopped && eos !== undefined ? [...g.tokens, eos] : g.tokens }));
    });
    references = { clean: r.value, stats: r.stats };
  }
  const clean = references.clean;
  // Recomputed from the recorded answers on a resume (it is far too large to log): the same
  // inputs in the same batches, so the same values. Not counted: the first run counted it.
  const cleanLogProbs: Float32Array[] = new Array(B);
  const teacher = await measured(lm.stats, () =>
    lm.teacherForce(
      plan.baselines.map((b, i) => ({ prompt: b.ids, continuation: clean[i]!.continuation })),
      (i, logits) => {
        const K = clean[i]!.continuation.length;
        const copy = logits.slice();
        for (let k = 0; k < K; k++) logSoftmaxInPlace(copy.subarray(k * V, (k + 1) * V));
        cleanLogProbs[i] = copy;
      },
    ),
  );
  if (!recorded) references = { clean, stats: addStats(references.stats, teacher.stats) };
  o.onProgress?.(2, 2, 'clean references');

  const probes = async (indices: readonly number[]) =>
    measured(lm.stats, async () => {
      const out: ProbeOutcome[] = indices.map(() => ({ divergence: 0, firstDivergence: 0, output: '', changed: false }));
      // Equal chunks: a unit of 600 probes runs as 2 × 300, not 512 + 88.
      const chunks = Math.ceil(indices.length / CHUNK);
      const size = Math.ceil(indices.length / Math.max(1, chunks));
      for (let start = 0; start < indices.length; start += size) {
        const idx = indices.slice(start, start + size);
        const gens = await lm.scoreAndGenerate(
          idx.map((i) => ({ prompt: plan.probes[i]!.ids, continuation: clean[plan.probes[i]!.baseline]!.continuation })),
          o.maxNewTokens,
          async (j, logits) => {
            const b = plan.probes[idx[j]!]!.baseline;
            const K = clean[b]!.continuation.length;
            const d = o.engine?.divergenceInJs ? meanJsDivergence(cleanLogProbs[b]!, logits, V, K) : await lm.kernels.meanDivergence(cleanLogProbs[b]!, logits, K);
            out[start + j]!.divergence = d.mean;
            out[start + j]!.firstDivergence = d.first;
          },
        );
        idx.forEach((i, j) => {
          const text = model.tokenizer.decode(gens[j]!.tokens);
          out[start + j]!.output = text;
          out[start + j]!.changed = text !== clean[plan.probes[i]!.baseline]!.output;
        });
      }
      return out;
    }).then((r) => ({ outcomes: r.value, stats: r.stats }));
  return { references, probes, close: () => lm.release() };
}
