import type { LoadedModel } from '../model/load-model.js';
import { padBatch, planBatches } from './batching.js';
import { intTensor, LogitsRows, type Tensor } from './tensors.js';
import type { RunStats } from './causal-lm.js';

/** Batched forward passes over a sequence classifier ([batch, labels] logits). */
export class SequenceClassifier {
  readonly labels: number;
  readonly stats: RunStats = { forwardPasses: 0, tokensIn: 0, prefillTokens: 0, decodeTokens: 0, runMs: 0, stepRunMs: 0 };
  private readonly batchSize: number;

  constructor(
    private readonly model: LoadedModel,
    opts: { batchSize?: number | undefined } = {},
  ) {
    if (model.io.task !== 'sequence-classification') throw new Error('SequenceClassifier needs [batch, labels] logits');
    this.labels = model.io.logits.labels ?? Object.keys(model.config.id2label ?? {}).length;
    this.batchSize = opts.batchSize ?? 16;
  }

  labelName(i: number): string {
    return this.model.config.id2label?.[i] ?? `LABEL_${i}`;
  }

  /** Logits per input. Encoder classifiers use absolute positions, so padding goes on the right. */
  async classify(inputs: readonly (readonly number[])[]): Promise<Float32Array[]> {
    const io = this.model.io;
    const out: Float32Array[] = new Array(inputs.length);
    const plan = planBatches(inputs.map((r) => r.length), {
      batchSize: this.batchSize,
      maxTokens: Number.MAX_SAFE_INTEGER,
      exactLengths: io.attentionMask === undefined,
    });
    for (const idx of plan.batches) {
      const p = padBatch(idx.map((i) => inputs[i]!), this.model.padId, 'right');
      const dims = [idx.length, p.width];
      const feeds: Record<string, Tensor> = { [io.inputIds.name]: intTensor(io.inputIds.dtype, p.ids, dims) };
      if (io.attentionMask) feeds[io.attentionMask.name] = intTensor(io.attentionMask.dtype, p.mask, dims);
      if (io.tokenTypeIds) feeds[io.tokenTypeIds.name] = intTensor(io.tokenTypeIds.dtype, new Array<number>(p.ids.length).fill(0), dims);
      if (io.positionIds) feeds[io.positionIds.name] = intTensor(io.positionIds.dtype, p.positions, dims);
      this.stats.forwardPasses++;
      this.stats.tokensIn += p.ids.length;
      const res = await this.model.session.run(feeds, [io.logits.name]);
      const t = res[io.logits.name]!;
      const logits = new LogitsRows(t, t.dims[1] ?? 1);
      idx.forEach((i, b) => (out[i] = logits.rows(b).slice()));
    }
    return out;
  }
}
