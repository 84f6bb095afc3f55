import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type LoadedModel } from '../../src/model/load-model.js';
import { SequenceClassifier } from '../../src/run/classifier.js';
import { expectBatchedEqualsSingle, expectCacheMatchesRecompute, expectForkMatchesRecompute, expectSharedPrefillMatches } from '../helpers/engine-checks.js';
import { HAVE_REALMODELS, REAL_CAUSAL, SHARED_REALMODELS } from '../helpers/paths.js';

describe.skipIf(!HAVE_REALMODELS)('third-party models from ../shared/realmodels', () => {
  for (const spec of REAL_CAUSAL) {
    describe(spec.name, () => {
      let m: LoadedModel;
      beforeAll(async () => {
        m = await loadModel(path.join(SHARED_REALMODELS, spec.dir), { graph: spec.graph, threads: 1 });
      });
      afterAll(async () => m?.release());

      it('decodes with the KV cache exactly as full recomputation does', async () => {
        await expectCacheMatchesRecompute(m, spec.tol);
      });
      it('gives the same results batched as one at a time', async () => {
        await expectBatchedEqualsSingle(m, spec.tol);
      });
      it('scores a continuation after a shared prefill as teacher forcing does', async () => {
        await expectSharedPrefillMatches(m, spec.tol);
      });
      it('continues many rows from shared prefixes as reading each sequence from scratch does', async () => {
        await expectForkMatchesRecompute(m, spec.tol);
      });
    });
  }

  it('runs the DistilBERT sequence classifier batched with right padding', async () => {
    const m = await loadModel(path.join(SHARED_REALMODELS, 'distilbert-tiny-sst2'), { threads: 1 });
    try {
      expect(m.io.task).toBe('sequence-classification');
      const cls = new SequenceClassifier(m, { batchSize: 4 });
      expect(cls.labelName(1)).toBe('POSITIVE');
      const texts = ['a great movie', 'terrible, boring and far too long for what it was', 'ok'];
      const ids = texts.map((t) => m.tokenizer.encode(t, true));
      const batched = await cls.classify(ids);
      const single = await new SequenceClassifier(m, { batchSize: 1 }).classify(ids);
      expect(batched).toHaveLength(3);
      for (let i = 0; i < 3; i++) {
        expect(batched[i]).toHaveLength(2);
        for (let j = 0; j < 2; j++) expect(Math.abs(batched[i]![j]! - single[i]![j]!)).toBeLessThan(1e-5);
      }
    } finally {
      await m.release();
    }
  });
});
