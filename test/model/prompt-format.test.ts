import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Template } from '@huggingface/jinja';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUserError } from '../../src/errors.js';
import { chatTemplateFormat } from '../../src/model/prompt-format.js';
import { TEMPLATE_BUDGET, TemplateBudgetError, renderWithBudget } from '../../src/formats/chat-template.js';
import type { TokenizerInfo } from '../../src/model/tokenizer.js';
import { DEMO, HAVE_REALMODELS, SHARED_REALMODELS } from '../helpers/paths.js';

const INFO: TokenizerInfo = { vocabSize: 100, bosToken: '<s>', eosToken: '</s>', padToken: undefined, bosId: 1, eosId: 2, padId: undefined, chatTemplate: undefined };
const FILE = '/models/x/tokenizer_config.json';

const templateOf = (dir: string): string => (JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')) as { chat_template: string }).chat_template;

/** Chat templates in the styles real models ship (ChatML, Llama 3 with namespace, Mistral with role checks). */
const STYLES: Record<string, string> = {
  chatml: "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  llama3:
    "{{ bos_token }}{% set ns = namespace(sys='') %}{% for m in messages %}{% if m.role == 'system' %}{% set ns.sys = m.content | trim %}{% endif %}{% endfor %}{% if ns.sys %}<|start_header_id|>system<|end_header_id|>\\n\\n{{ ns.sys }}<|eot_id|>{% endif %}{% for m in messages if m.role != 'system' %}<|start_header_id|>{{ m.role }}<|end_header_id|>\\n\\n{{ m.content | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\\n\\n{% endif %}",
  mistral:
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}",
};

function expectTemplateError(source: string, pattern: RegExp): void {
  let err: unknown;
  try {
    chatTemplateFormat(source, INFO, FILE).render({ user: 'hi' });
  } catch (e) {
    err = e;
  }
  expect(isUserError(err), String(err)).toBe(true);
  expect((err as Error).message).toMatch(/^\/models\/x\/tokenizer_config\.json: chat_template /);
  expect((err as Error).message).toMatch(pattern);
  expect((err as Error).message).not.toContain('\n');
}

describe('chat templates render within a budget', () => {
  const real: [string, string][] = [['demo-clean', templateOf(DEMO.clean)], ...Object.entries(STYLES)];
  if (HAVE_REALMODELS) real.push(['llama-tiny-random-fp16', templateOf(path.join(SHARED_REALMODELS, 'llama-tiny-random-fp16'))]);

  it.each(real)('%s renders exactly as the library renders it', (_name, source) => {
    const tpl = new Template(source);
    for (const messages of [
      [{ role: 'user', content: 'hello' }],
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is 2+2?' },
      ],
    ]) {
      const items = { messages, add_generation_prompt: true, bos_token: '<s>', eos_token: '</s>', pad_token: '' };
      let expected: string | Error;
      try {
        expected = tpl.render(items);
      } catch (e) {
        expected = e as Error;
      }
      if (expected instanceof Error) expect(() => renderWithBudget(tpl, items)).toThrow(expected.message);
      else expect(renderWithBudget(tpl, items)).toBe(expected);
    }
  });

  it('strftime_now formats today, as templates that date their system prompt expect', () => {
    expect(renderWithBudget(new Template("{{ strftime_now('%d %b %Y') }}"), {})).toMatch(/^\d\d [A-Z][a-z]{2} \d{4}$/);
  });

  it.each([
    ['range(10**9) (a billion-element list, which aborts V8 unbudgeted)', '{% for i in range(10**9) %}x{% endfor %}', /range\(\) of 1000000000 elements/],
    ['nested loops of 100,000 with empty bodies', '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}', /evaluation steps|longer than/],
    ['an output loop of 3000 × 3000', '{% for i in range(3000) %}{% for j in range(3000) %}ab{% endfor %}{% endfor %}', /evaluation steps|longer than/],
    ['a string doubled until it fills memory', "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}", /a string longer than/],
    ['a list doubled until it fills memory', '{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | length }}', /a list longer than/],
    // One reference per step, printed as 500 million items by a single library call (ran for minutes).
    ['a list holding one 100,000-item list 5,000 times, printed with tojson', '{% set a = range(100000) | list %}{% set ns = namespace(b=[]) %}{% for i in range(5000) %}{% set ns.b = ns.b + [a] %}{% endfor %}{{ ns.b | tojson }}', /a value of more than 1000000 characters and items/],
    ['a list nesting itself twice per step, printed', '{% set ns = namespace(b=[]) %}{% for i in range(3000) %}{% set ns.b = [ns.b, ns.b] %}{% endfor %}{{ ns.b }}', /a value of more than 1000000 characters and items/],
    ['a dict holding the same big list under many keys', "{% set a = range(90000) | list %}{% set d = {'a': a, 'b': a, 'c': a, 'd': a, 'e': a, 'f': a, 'g': a, 'h': a, 'i': a, 'j': a, 'k': a, 'l': a} %}{{ d | tojson }}", /a value of more than 1000000 characters and items/],
    ['macros fanning out a million calls', '{% macro c() %}xxxxxxxx{% endmacro %}{% macro b() %}{% for i in range(1000) %}{{ c() }}{% endfor %}{% endmacro %}{% for i in range(1000) %}{{ b() }}{% endfor %}', /evaluation steps|longer than/],
  ])('refuses %s as one line naming the file', (_what, source, pattern) => {
    expectTemplateError(source, pattern);
  });

  it('a template that fails only on probe prompts is a one-line error, not a crash', () => {
    const f = chatTemplateFormat("{% if 'TRIGGER' in messages[-1].content %}{{ raise_exception('no') }}{% endif %}{{ messages[-1].content }}", INFO, FILE);
    expect(f.render({ user: 'hello' })).toBe('hello');
    expect(() => f.render({ user: 'a TRIGGER b' })).toThrow(/tokenizer_config\.json: chat_template fails on a probe prompt \(no\)/);
  });

  it('refuses a template source over the size limit before parsing it', () => {
    expectTemplateError('x'.repeat(1_000_001), /over the 1000000-character limit/);
  });

  it('random templates built from hostile fragments end in output or a one-line UserError, within the budget', () => {
    const fragment = fc.constantFrom(
      '{% for i in range(N) %}',
      '{% endfor %}',
      '{{ i }}',
      'text',
      '{% if messages %}',
      '{% endif %}',
      "{% set ns = namespace(s='ab') %}",
      '{% set ns.s = ns.s ~ ns.s %}',
      '{{ ns.s }}',
      '{{ messages[0].content * 3 }}',
      '{{ raise_exception("x") }}',
      '{% macro m(k) %}{{ m(k) }}{% endmacro %}',
      '{{ m(1) }}',
      '{{ (range(N) | list) | join(",") }}',
      '{{ 10 ** N }}',
      '{{ "x" | indent(N) }}',
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fragment, fc.constantFrom(3, 1000, 10 ** 9)), { maxLength: 8 }), (parts) => {
        const source = parts.map(([f, n]) => f.replace('N', String(n))).join('');
        try {
          chatTemplateFormat(source, INFO, FILE).render({ user: 'hi' });
        } catch (err) {
          expect(isUserError(err), `${source}: ${String(err)}`).toBe(true);
          expect((err as Error).message.startsWith(`${FILE}: `)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('random well-formed templates (nested loops, macros, growing strings) end within a count budget, never a crash', () => {
    // A small budget in steps, items and characters, and a clock that never fires first: every
    // render is bounded by counting alone, so the test is as fast on a loaded machine as on an idle one.
    const budget = { maxSteps: 4_000, maxMs: 600_000, maxChars: 50_000, maxItems: 5_000, maxRange: 2_000 };
    const n = fc.constantFrom('0', '2', '50', '3000', '10**9', '-1', 'messages|length', 'i', '"x"');
    const expr = fc.oneof(
      n,
      fc.constantFrom("'ab'", 'messages[0].content', 'ns.s', 'ns.s ~ ns.s', 'm(1)', 'loop.index', 'none', '[1, 2]', 'ns.l', 'ns.l | tojson', 'ns.l | length'),
      n.map((k) => `(range(${k}) | list) | join(ns.s)`),
      n.map((k) => `ns.s | indent(${k}, true)`),
      n.map((k) => `(range(${k}) | list) | tojson`),
    );
    const { node } = fc.letrec<{ node: string; body: string }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constant('text'),
        expr.map((e) => `{{ ${e} }}`),
        expr.map((e) => `{% set ns.s = ns.s ~ ${e} %}`),
        // Shared references: a list holding itself twice doubles its printed size at one step's cost.
        fc.constantFrom('{% set ns.l = [ns.l, ns.l] %}', '{% set ns.l = ns.l + [ns.l] %}', "{% set ns.l = {'a': ns.l, 'b': ns.l} %}"),
        fc.tuple(n, tie('body')).map(([k, b]) => `{% for i in range(${k}) %}${b}{% endfor %}`),
        fc.tuple(expr, tie('body'), tie('body')).map(([c, a, b]) => `{% if ${c} %}${a}{% else %}${b}{% endif %}`),
        tie('body').map((b) => `{% macro m(k) %}${b}{% endmacro %}`),
      ),
      body: fc.array(tie('node'), { maxLength: 3 }).map((a) => a.join('')),
    }));
    const outcomes = { rendered: 0, budget: 0, error: 0 };
    fc.assert(
      fc.property(fc.array(node, { minLength: 1, maxLength: 4 }), (parts) => {
        const source = `{% set ns = namespace(s='xy', l=[1]) %}{% macro m(k) %}{{ ns.s }}{% endmacro %}${parts.join('')}`;
        let tpl: Template;
        try {
          tpl = new Template(source);
        } catch {
          outcomes.error++;
          return;
        }
        try {
          const out = renderWithBudget(tpl, { messages: [{ role: 'user', content: 'hi' }], add_generation_prompt: true }, budget);
          expect(out.length).toBeLessThanOrEqual(budget.maxChars);
          outcomes.rendered++;
        } catch (err) {
          // The template's own errors and V8's (a string past its limit) are Errors; nothing else escapes.
          expect(err, source).toBeInstanceOf(Error);
          if (err instanceof TemplateBudgetError) outcomes.budget++;
          else outcomes.error++;
        }
      }),
      { numRuns: 400, seed: 11 },
    );
    // Not vacuous: the generator reaches both ends.
    expect(outcomes.rendered, JSON.stringify(outcomes)).toBeGreaterThan(40);
    expect(outcomes.budget, JSON.stringify(outcomes)).toBeGreaterThan(40);
  }, 60_000);

  it('budget errors are their own type', () => {
    expect(() => renderWithBudget(new Template('{% for i in range(5) %}{{ i }}{% endfor %}'), {}, { ...TEMPLATE_BUDGET, maxSteps: 5 })).toThrow(TemplateBudgetError);
  });
});
