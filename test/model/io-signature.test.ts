import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { detectIoSignature, type ValueMeta } from '../../src/model/io-signature.js';

const v = (name: string, type: string, shape: (number | string)[]): ValueMeta => ({ name, type, shape });

describe('detectIoSignature', () => {
  it('reads an Optimum decoder with separate key/value caches', () => {
    const inputs = [
      v('input_ids', 'int64', ['b', 's']),
      v('attention_mask', 'int64', ['b', 't']),
      v('position_ids', 'int64', ['b', 's']),
      v('past_key_values.0.key', 'float32', ['b', 2, 'p', 8]),
      v('past_key_values.0.value', 'float32', ['b', 2, 'p', 8]),
      v('past_key_values.1.key', 'float32', ['b', 2, 'p', 8]),
      v('past_key_values.1.value', 'float32', ['b', 2, 'p', 8]),
    ];
    const outputs = [
      v('logits', 'float32', ['b', 's', 100]),
      ...[0, 1].flatMap((i) => [v(`present.${i}.key`, 'float32', ['b', 2, 't', 8]), v(`present.${i}.value`, 'float32', ['b', 2, 't', 8])]),
    ];
    const io = detectIoSignature(inputs, outputs, 'm.onnx');
    expect(io.task).toBe('causal-lm');
    expect(io.kv).toMatchObject({ kind: 'separate', layers: 2, heads: 2, headDim: 8, dtype: 'float32' });
    expect(io.kv!.pastNames[1]).toEqual(['past_key_values.1.key', 'past_key_values.1.value']);
    expect(io.kv!.presentNames[1]).toEqual(['present.1.key', 'present.1.value']);
    expect(io.kv!.presents).toBe('whole');
    expect(io.positionIds?.dtype).toBe('int64');
  });

  it("reads the graph builder's new_key_values outputs as a cache the engine appends to", () => {
    const inputs = [v('input_ids', 'int64', ['b', 's']), v('past_key_values.0.key', 'float32', ['b', 2, 'p', 8]), v('past_key_values.0.value', 'float32', ['b', 2, 'p', 8])];
    const io = detectIoSignature(inputs, [v('logits', 'float32', ['b', 's', 100]), v('new_key_values.0.key', 'float32', ['b', 2, 's', 8]), v('new_key_values.0.value', 'float32', ['b', 2, 's', 8])], 'm.onnx');
    expect(io.kv).toMatchObject({ kind: 'separate', presents: 'new', presentNames: [['new_key_values.0.key', 'new_key_values.0.value']] });
    // Half of them is no cache contract: the missing output is named.
    expect(() => detectIoSignature(inputs, [v('logits', 'float32', ['b', 's', 100]), v('new_key_values.0.key', 'float32', ['b', 2, 's', 8])], 'm.onnx')).toThrow(/no matching output new_key_values\.0\.value/);
  });

  it('takes num_logits_to_keep as an int64 scalar or [1], and refuses anything else', () => {
    const ins = (keep: ValueMeta) => [v('input_ids', 'int64', ['b', 's']), v('attention_mask', 'int64', ['b', 's']), keep];
    const outs = [v('logits', 'float32', ['b', 'k', 100])];
    expect(detectIoSignature(ins(v('num_logits_to_keep', 'int64', [])), outs, 'k.onnx').logitsToKeep).toEqual({ name: 'num_logits_to_keep', dims: [] });
    expect(detectIoSignature(ins(v('num_logits_to_keep', 'int64', [1])), outs, 'k.onnx').logitsToKeep).toEqual({ name: 'num_logits_to_keep', dims: [1] });
    expect(detectIoSignature(ins(v('input_ids', 'int64', ['b', 's'])), outs, 'k.onnx').logitsToKeep).toBeUndefined();
    expect(() => detectIoSignature(ins(v('num_logits_to_keep', 'float32', [])), outs, 'k.onnx')).toThrow(/num_logits_to_keep is float32\[\]; expected an int64 scalar/);
    expect(() => detectIoSignature(ins(v('num_logits_to_keep', 'int64', ['b', 2])), outs, 'k.onnx')).toThrow(UserError);
  });

  it('reads the stacked [2, B, H, P, D] layout with int32 ids and fp16 logits', () => {
    const io = detectIoSignature(
      [v('input_ids', 'int32', ['b', 's']), v('attention_mask', 'int32', ['b', 't']), v('past_0', 'float16', [2, 'b', 4, 'p', 8])],
      [v('logits', 'float16', ['b', 's', 1000]), v('present_0', 'float16', [2, 'b', 4, 't', 8])],
      'past.onnx',
    );
    expect(io.kv).toMatchObject({ kind: 'stacked', layers: 1, heads: 4, headDim: 8, dtype: 'float16' });
    expect(io.inputIds.dtype).toBe('int32');
    expect(io.logits.dtype).toBe('float16');
    expect(io.positionIds).toBeUndefined();
  });

  it('takes symbolic cache dims from config hints', () => {
    const io = detectIoSignature(
      [v('input_ids', 'int64', ['b', 's']), v('past_key_values.0.key', 'float32', ['b', 'h', 'p', 'd']), v('past_key_values.0.value', 'float32', ['b', 'h', 'p', 'd'])],
      [v('logits', 'float32', ['b', 's', 'v']), v('present.0.key', 'float32', []), v('present.0.value', 'float32', [])],
      'm.onnx',
      { numHeads: 3, headDim: 5 },
    );
    expect(io.kv).toMatchObject({ heads: 3, headDim: 5 });
  });

  it('recognises a sequence classifier and a merged decoder flag', () => {
    const cls = detectIoSignature([v('input_ids', 'int64', ['b', 's']), v('attention_mask', 'int64', ['b', 's'])], [v('logits', 'float32', ['b', 2])], 'c.onnx');
    expect(cls.task).toBe('sequence-classification');
    expect(cls.logits.labels).toBe(2);
    const merged = detectIoSignature(
      [v('input_ids', 'int64', ['b', 's']), v('use_cache_branch', 'bool', [1])],
      [v('logits', 'float32', ['b', 's', 10])],
      'd.onnx',
    );
    expect(merged.useCacheBranch).toBe('use_cache_branch');
  });

  it.each([
    ['no input_ids', [v('pixel_values', 'float32', ['b', 3, 224, 224])], [v('logits', 'float32', ['b', 10])], /need input_ids and logits/],
    ['unknown input', [v('input_ids', 'int64', ['b', 's']), v('encoder_hidden_states', 'float32', ['b', 's', 8])], [v('logits', 'float32', ['b', 's', 9])], /unsupported graph inputs encoder_hidden_states/],
    ['float ids', [v('input_ids', 'float32', ['b', 's'])], [v('logits', 'float32', ['b', 's', 9])], /input_ids has type float32/],
    ['cache without present', [v('input_ids', 'int64', ['b', 's']), v('past_0', 'float32', [2, 'b', 1, 'p', 4])], [v('logits', 'float32', ['b', 's', 9])], /no matching output present_0/],
    ['rank-4 logits', [v('input_ids', 'int64', ['b', 's'])], [v('logits', 'float32', ['b', 's', 2, 9])], /logits of rank 4/],
  ])('refuses %s, saying what it found', (_name, inputs, outputs, msg) => {
    let err: unknown;
    try {
      detectIoSignature(inputs, outputs, 'x.onnx');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(msg);
    expect((err as UserError).message).toMatch(/^x\.onnx: /);
    expect((err as UserError).message).not.toContain('\n');
  });
});
