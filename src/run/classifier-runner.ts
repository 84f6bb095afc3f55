import type { LoadedModel } from '../model/load-model.js';
import type { ScanPlan } from '../plan/plan.js';
import { jsDivergence, logSoftmaxInPlace } from '../math/divergence.js';
import { SequenceClassifier } from './classifier.js';
import { progressCounter, type CleanOutcome, type ExecuteOptions, type ModelRunner, type ProbeOutcome, type RunSession } from './runner.js';

/** Sequence classifiers: one forward pass per input; the output is the predicted label. */
export function classifierRunner(model: LoadedModel): ModelRunner {
  return { open: (plan, o) => openClassifier(model, plan, o) };
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

async function openClassifier(model: LoadedModel, plan: ScanPlan, o: ExecuteOptions): Promise<RunSession> {
  const cls = new SequenceClassifier(model, { batchSize: o.batchSize });
  const progress = progressCounter(o);
  progress.plan(plan.baselines.length);
  const cleanLogits = await cls.classify(plan.baselines.map((b) => b.ids));
  progress.tick(plan.baselines.length, 'clean labels');
  const cleanLabels = cleanLogits.map(argmax);
  const cleanLogProbs = cleanLogits.map((l) => logSoftmaxInPlace(l.slice()));
  const clean: CleanOutcome[] = cleanLabels.map((l) => ({ output: cls.labelName(l), tokens: [l] }));
  const probes: (ProbeOutcome | undefined)[] = new Array(plan.probes.length).fill(undefined);
  return {
    clean,
    probes,
    stats: cls.stats,
    async run(idx) {
      progress.plan(idx.length);
      const logits = await cls.classify(idx.map((i) => plan.probes[i]!.ids));
      idx.forEach((i, j) => {
        const p = plan.probes[i]!;
        const lg = logits[j]!;
        const d = jsDivergence(cleanLogProbs[p.baseline]!, lg);
        const label = argmax(lg);
        probes[i] = { divergence: d, firstDivergence: d, output: cls.labelName(label), changed: label !== cleanLabels[p.baseline] };
      });
      progress.tick(idx.length, 'probes');
    },
    close: async () => {},
  };
}
