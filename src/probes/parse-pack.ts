/**
 * Pack text → validated ProbePack. Pure (no file system), so the fuzz tests and the loader share it.
 * Every problem becomes one line: `file:line:col: path: what is wrong and what is allowed`.
 */
import { z } from 'zod';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import { UserError } from '../errors.js';
import { looksUndecoded, show, typeName } from './escapes.js';
import {
  controlText,
  DEFAULT_PLACEMENTS,
  NEGATIVE_CONTROL_TAG,
  PackFileSchema,
  triggerText,
} from './schema.js';
import type { PackFileData } from './schema.js';
import type { Baseline, Detector, ProbePack, Trigger } from './types.js';

/** Packs are hand-written lists; anything this big is a wrong file, and refusing it keeps parsing fast. */
export const MAX_PACK_BYTES = 4 * 1024 * 1024;

export interface ParseOptions {
  /** Built-in packs must also carry license, authors, references and a source on every trigger. */
  readonly builtin?: boolean;
  /** Absolute path recorded on the UserError; defaults to the display name. */
  readonly file?: string;
}

export interface ParsedPack {
  readonly pack: ProbePack;
  readonly warnings: readonly string[];
}

type PathSeg = string | number;

interface Problem {
  readonly path: readonly PathSeg[];
  readonly message: string;
  /** Point at the key of the last path segment rather than its value (unknown fields). */
  readonly atKey?: boolean;
  /** A remark about the pack as a whole rather than one place in it. */
  readonly general?: boolean;
}

/**
 * Parses and validates pack source text (YAML or JSON).
 * @param displayName how the file is named in messages, e.g. `probes/x.yaml`
 * @throws UserError('E_PACK') naming the file, line:column, field path and what is allowed
 */
export function parsePackSource(source: string, displayName: string, opts: ParseOptions = {}): ParsedPack {
  const fail = (message: string): never => {
    throw new UserError('E_PACK', message, opts.file ?? displayName);
  };
  if (source.length > MAX_PACK_BYTES) {
    fail(`${displayName}: pack file is larger than ${MAX_PACK_BYTES / 1024 / 1024} MiB; packs are short hand-written lists`);
  }

  const lines = new LineCounter();
  const where = (offset: number): string => {
    const { line, col } = lines.linePos(offset);
    return `${displayName}:${line}:${col}`;
  };

  let doc: Document.Parsed;
  let data: unknown;
  try {
    doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const syntax = doc.errors[0] ?? doc.warnings[0];
    if (syntax !== undefined) {
      const what = doc.errors.length > 0 ? 'YAML syntax error' : 'YAML problem';
      fail(`${where(syntax.pos[0])}: ${what}: ${yamlMessage(syntax.message)}`);
    }
    visit(doc, {
      Alias(_key, node) {
        fail(`${where(node.range?.[0] ?? 0)}: YAML aliases (*${node.source}) are not supported in packs; repeat the value instead`);
      },
      Pair(_key, pair) {
        const key: unknown = pair.key;
        // A tagged scalar key (`!!binary x: 1`) resolves to an object, which toJS would stringify with a warning.
        if (key !== null && (!isScalar(key) || (typeof key.value === 'object' && key.value !== null))) {
          const node = key as YamlNode;
          fail(`${where(node.range?.[0] ?? 0)}: mapping keys must be plain field names, not lists or mappings`);
        }
      },
    });
    data = doc.toJS({ maxAliasCount: 0 });
  } catch (err) {
    if (err instanceof UserError) throw err;
    // The yaml library can still give up on pathological input (e.g. stack depth); that is the file's fault.
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return fail(`${displayName}: could not parse the file as YAML or JSON: ${msg}`);
  }

  if (data === null || data === undefined) {
    fail(`${displayName}:1:1: the file is empty; a pack is a mapping with name, version, description and triggers, baselines or detectors`);
  }

  const locate = (p: Problem): number => nodeOffset(doc, p.path, p.atKey === true);

  const parsed = PackFileSchema.safeParse(data, { reportInput: true });
  let problems: Problem[] = parsed.success ? [] : parsed.error.issues.flatMap((iss) => toProblems(iss, doc));
  if (parsed.success && opts.builtin === true) problems = builtinProblems(parsed.data);
  if (problems.length > 0 || !parsed.success) {
    const sorted = problems
      .map((p, i) => ({ p, i, offset: locate(p) }))
      // Whole-pack remarks ("the pack is empty") are least specific: report them only when nothing else is wrong.
      .sort((a, b) => Number(a.p.general === true) - Number(b.p.general === true) || a.offset - b.offset || a.i - b.i);
    const first = sorted[0];
    if (first === undefined) return fail(`${displayName}: invalid pack`);
    const pathText = formatPath(first.p.path);
    const more = sorted.length > 1 ? ` (+${sorted.length - 1} more problem${sorted.length > 2 ? 's' : ''})` : '';
    return fail(`${where(first.offset)}: ${pathText ? `${pathText}: ` : ''}${first.p.message}${more}`);
  }
  return normalise(parsed.data, displayName);
}

/** Renders a zod path the way a reader of the YAML would write it: `triggers[3].placements[1]`. */
export function formatPath(path: readonly PathSeg[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function yamlMessage(message: string): string {
  const firstLine = message.split('\n')[0] ?? message;
  return firstLine.replace(/ at line \d+, column \d+:?\s*$/, '').trim();
}

function toProblems(iss: z.core.$ZodIssue, doc: Document.Parsed): Problem[] {
  const path = iss.path.filter((s): s is PathSeg => typeof s !== 'symbol');
  const input: unknown = (iss as { input?: unknown }).input;
  switch (iss.code) {
    case 'unrecognized_keys': {
      const allowed = objectKeysAt(path);
      return iss.keys.map((key) => {
        const near = allowed.find((a) => editDistance(a, key) <= 2);
        const hint = near !== undefined ? ` (did you mean "${near}"?)` : '';
        return {
          path: [...path, key],
          atKey: true,
          message: `unknown field ${show(key)}${hint}; allowed fields: ${allowed.join(', ')}`,
        };
      });
    }
    case 'invalid_value':
    case 'invalid_type': {
      // Parsed YAML never holds undefined, so an undefined input is a field that is not there at all.
      if (input === undefined) {
        const field = path[path.length - 1];
        return [
          {
            path: path.slice(0, -1),
            message: `missing required field ${show(String(field))} (${expectedAt(path) ?? 'see the schema'})`,
          },
        ];
      }
      if (iss.code === 'invalid_value') {
        return [{ path, message: `${describeValue(input)} is not one of ${iss.values.map((v) => String(v)).join(', ')}` }];
      }
      const node = doc.getIn(path, true);
      const quoteHint =
        iss.expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')
          ? `; quote it: "${isScalar(node) && typeof node.source === 'string' ? node.source : String(input)}"`
          : '';
      if (path.length === 0) {
        return [{ path, message: `a pack must be a mapping of fields (name, version, description, triggers, ...), got ${describeValue(input)}` }];
      }
      return [{ path, message: `expected ${expectedName(iss.expected)}, got ${describeValue(input)}${quoteHint}` }];
    }
    case 'too_small': {
      if (iss.origin === 'array') return [{ path, message: iss.message.startsWith('must') ? iss.message : `must list at least ${String(iss.minimum)} item(s)` }];
      if (iss.origin === 'string') return [{ path, message: 'must not be empty' }];
      return [{ path, message: `must be at least ${String(iss.minimum)}` }];
    }
    case 'too_big': {
      if (iss.origin === 'string') return [{ path, message: `is too long: at most ${String(iss.maximum)} characters` }];
      if (iss.origin === 'array') return [{ path, message: `has too many items: at most ${String(iss.maximum)}` }];
      return [{ path, message: `must be at most ${String(iss.maximum)}` }];
    }
    default:
      // Our own refinements and format checks carry complete one-line messages.
      return [{ path, message: iss.message.split('\n')[0] ?? iss.message, general: iss.code === 'custom' && path.length === 0 }];
  }
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return show(v);
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeName(v)} ${show(v)}`;
  return typeName(v);
}

function expectedName(expected: string): string {
  switch (expected) {
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    default:
      return expected;
  }
}

/** Walks the zod schema along a data path; used to list allowed fields and describe missing ones. */
function schemaAt(path: readonly PathSeg[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = PackFileSchema;
  for (const seg of path) {
    s = s === undefined ? undefined : unwrap(s);
    if (s instanceof z.ZodObject && typeof seg === 'string') s = (s.shape as Record<string, z.ZodType>)[seg];
    else if (s instanceof z.ZodArray && typeof seg === 'number') s = s.element as z.ZodType;
    else return undefined;
  }
  return s === undefined ? undefined : unwrap(s);
}

function unwrap(s: z.ZodType): z.ZodType {
  let cur: z.ZodType = s;
  for (;;) {
    if (cur instanceof z.ZodOptional || cur instanceof z.ZodDefault) cur = cur.unwrap() as z.ZodType;
    else return cur;
  }
}

function objectKeysAt(path: readonly PathSeg[]): string[] {
  const s = schemaAt(path);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function expectedAt(path: readonly PathSeg[]): string | undefined {
  const s = schemaAt(path);
  if (s instanceof z.ZodEnum) return `one of ${s.options.map(String).join(', ')}`;
  if (s instanceof z.ZodArray) return 'a list';
  if (s instanceof z.ZodObject) return 'a mapping';
  if (s instanceof z.ZodString) return 'a string';
  return undefined;
}

function builtinProblems(p: PackFileData): Problem[] {
  const out: Problem[] = [];
  const why = 'built-in packs must say';
  if (p.license === undefined) out.push({ path: [], message: `missing required field "license" (${why} how they may be used)` });
  if (p.authors.length === 0) out.push({ path: [], message: `missing required field "authors" (${why} who wrote them)` });
  if (p.references.length === 0) out.push({ path: [], message: `missing required field "references" (${why} where they come from)` });
  p.triggers.forEach((t, i) => {
    if (t.source === undefined) {
      out.push({ path: ['triggers', i], message: 'missing required field "source" (every built-in trigger names the paper or repository it comes from)' });
    }
  });
  return out;
}

/** Character offset of the node a problem is about, falling back to the deepest existing ancestor. */
function nodeOffset(doc: Document.Parsed, path: readonly PathSeg[], atKey: boolean): number {
  let node: unknown = doc.contents;
  let best = offsetOf(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(seg));
      if (pair === undefined) return best;
      const keyOffset = offsetOf(pair.key);
      if (atKey && i === path.length - 1) return keyOffset ?? best;
      node = pair.value;
      best = offsetOf(node) ?? keyOffset ?? best;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (node === undefined) return best;
      best = offsetOf(node) ?? best;
    } else {
      return best;
    }
  }
  return best;
}

function offsetOf(node: unknown): number | undefined {
  if (node === null || typeof node !== 'object' || isAlias(node)) return undefined;
  const range = (node as { range?: readonly number[] | null }).range;
  return range?.[0];
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      const left = prev[j - 1] ?? 0;
      prev[j] = Math.min(up + 1, left + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] ?? Math.max(a.length, b.length);
}

function normalise(p: PackFileData, displayName: string): ParsedPack {
  const warnings: string[] = [];
  const triggers: Trigger[] = p.triggers.map((t, i) => {
    // Validation guarantees a decodable text; the fallback only satisfies the type checker.
    const text = triggerText(t) ?? '';
    if (t.text !== undefined && looksUndecoded(t.text)) {
      warnings.push(
        `${displayName}: triggers[${i}].text ${show(t.text)} contains a backslash escape that was not decoded ` +
          '(single-quoted or plain YAML); use a double-quoted string or text_escaped if an escape was meant',
      );
    }
    return {
      ref: `${p.name}/${t.id}`,
      pack: p.name,
      id: t.id,
      text,
      kind: t.kind,
      placements: t.kind === 'template' ? [] : [...(t.placements ?? DEFAULT_PLACEMENTS[t.kind])],
      tags: [...t.tags],
      source: t.source,
      expect: [...t.expect],
      control: controlText(t),
      notes: t.notes,
      negativeControl: t.tags.includes(NEGATIVE_CONTROL_TAG),
    };
  });
  const baselines: Baseline[] = p.baselines.map((b) => ({
    ref: `${p.name}/${b.id}`,
    pack: p.name,
    id: b.id,
    text: b.text,
    category: b.category,
    tags: [...b.tags],
  }));
  const detectors: Detector[] = p.detectors.map((d) => ({
    ref: `${p.name}/${d.id}`,
    pack: p.name,
    id: d.id,
    type: d.type,
    pattern: d.pattern,
    flags: d.flags,
    severity: d.severity,
    description: d.description,
    tags: [...d.tags],
  }));
  const pack: ProbePack = {
    name: p.name,
    version: p.version,
    description: p.description,
    license: p.license,
    authors: [...p.authors],
    references: p.references.map((r) => ({ url: r.url, title: r.title })),
    triggers,
    baselines,
    detectors,
    controls: {
      benignPhrases: [...(p.controls?.benign_phrases ?? [])],
      benignWords: [...(p.controls?.benign_words ?? [])],
      glitchTokens: [...(p.controls?.glitch_tokens ?? [])],
    },
  };
  return { pack, warnings };
}
