import type { LoadedModel } from '../model/load-model.js';
import type { ScanPlan } from '../plan/plan.js';
import { jsDivergence, logSoftmaxInPlace } from '../math/divergence.js';
import { SequenceClassifier } from './classifier.js';
import type { CleanOutcome, ExecuteOptions, Execution, ModelRunner } from './runner.js';

/** Sequence classifiers: one forward pass per input; the output is the predicted label. */
export function classifierRunner(model: LoadedModel): ModelRunner {
  return { execute: (plan, o) => executeClassifier(model, plan, o) };
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
  const cleanLogProbs = cleanLogits.map((l) => logSoftmaxInPlace(l.slice()));
  const clean: CleanOutcome[] = cleanLabels.map((l) => ({ output: cls.labelName(l), tokens: [l] }));
  const probeLogits = await cls.classify(plan.probes.map((p) => p.ids));
  o.onProgress?.(total, total, 'probes');
  const probes = plan.probes.map((p, i) => {
    const lg = probeLogits[i]!;
    const d = jsDivergence(cleanLogProbs[p.baseline]!, lg);
    const label = argmax(lg);
    return { divergence: d, firstDivergence: d, output: cls.labelName(label), changed: label !== cleanLabels[p.baseline] };
  });
  return { clean, probes, stats: cls.stats };
}
