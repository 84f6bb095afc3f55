import type { LoadedModel } from '../model/load-model.js';
import type { ScanPlan } from '../plan/plan.js';
import { jsDivergence, logSoftmaxInPlace } from '../math/divergence.js';
import { SequenceClassifier } from './classifier.js';
import { measured, type CleanReferences, type ExecuteOptions, type ModelRunner, type RunSession } from './runner.js';

/** Sequence classifiers: one forward pass per input; the output is the predicted label. */
export function classifierRunner(model: LoadedModel): ModelRunner {
  return { start: (plan, o, recorded) => startClassifier(model, plan, o, recorded) };
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

async function startClassifier(model: LoadedModel, plan: ScanPlan, o: ExecuteOptions, recorded: CleanReferences | undefined): Promise<RunSession> {
  const cls = new SequenceClassifier(model, { batchSize: o.batchSize });
  // The clean logits are needed for every divergence; classifying the baselines again is one pass.
  const r = await measured(cls.stats, () => cls.classify(plan.baselines.map((b) => b.ids)));
  const cleanLabels = r.value.map(argmax);
  const cleanLogProbs = r.value.map((l) => logSoftmaxInPlace(l.slice()));
  const references: CleanReferences = recorded ?? { clean: cleanLabels.map((l) => ({ output: cls.labelName(l), tokens: [l], continuation: [] })), stats: r.stats };
  o.onProgress?.(1, 1, 'clean labels');
  const probes = (indices: readonly number[]) =>
    measured(cls.stats, async () => {
      const logits = await cls.classify(indices.map((i) => plan.probes[i]!.ids));
      return indices.map((i, j) => {
        const lg = logits[j]!;
        const b = plan.probes[i]!.baseline;
        const d = jsDivergence(cleanLogProbs[b]!, lg);
        const label = argmax(lg);
        return { divergence: d, firstDivergence: d, output: cls.labelName(label), changed: label !== cleanLabels[b] };
      });
    }).then((x) => ({ outcomes: x.value, stats: x.stats }));
  return { references, probes, close: async () => {} };
}
