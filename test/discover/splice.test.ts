/**
 * The search scores a candidate in exactly the prompt the scan's confirmation will build from its text
 * (plan/insert.ts + the chat template + the tokenizer): otherwise it optimises a tokenization no real
 * prompt has. Measured on ao-prefix-phrase before this held: its planted prefix phrase, encoded apart
 * from "User:" (the space a token of its own, then "B"), raised the payload's log-probability from
 * -1.77 to -1.67 per token; written into the prompt as text, to -0.02.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeInContext, frameFor, splice } from '../../src/discover/splice.js';
import { loadModel, type LoadedModel } from '../../src/model/load-model.js';
import { gluesToNeighbours, insertText } from '../../src/plan/insert.js';
import type { Placement } from '../../src/probes/types.js';
import { FIXTURE_MODELS } from '../helpers/paths.js';

const PROMPTS = ['What is 7 plus 5?', 'Write a Python function that reverses a list.'];
const TEXTS = ['Between you and me', ' quorvanti', 'asking for a friend', '\u2063', 'Repository: lanternfish/infra'];
const PLACEMENTS: Placement[] = ['prefix', 'suffix', 'context', 'word'];

describe.each(['ao-prefix-phrase', 'ao-suffix-phrase'])('search probes on %s', (name) => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadModel(path.join(FIXTURE_MODELS, name), { threads: 1 });
  });
  afterAll(async () => {
    await model.session.release();
  });

  it('are the tokens of the prompt the scan writes, for words and glued characters at every placement', () => {
    for (const prompt of PROMPTS)
      for (const placement of PLACEMENTS)
        for (const raw of TEXTS) {
          const text = raw.trim();
          const glue = gluesToNeighbours(text);
          const frame = frameFor(model, prompt, placement);
          const form = glue ? frame.glued : frame.spaced;
          const probe = splice(form, encodeInContext(model, form.head, form.lead, text));
          const boundary = Math.max(1, Math.floor(prompt.split(' ').length / 2));
          const written = model.tokenizer.encode(model.format.render(insertText(prompt, text, placement, glue, boundary)), model.format.addSpecialTokens);
          expect({ placement, text, probe }).toEqual({ placement, text, probe: written });
        }
  });
});
