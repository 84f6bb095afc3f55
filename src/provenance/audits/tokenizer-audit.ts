import { finding } from '../../formats/finding.js';
import type { Finding, Severity } from '../../formats/finding.js';

/**
 * Static checks on a parsed tokenizer.json for the ways a tokenizer can carry or hide a backdoor:
 * an added token that is a trigger phrase (so the trigger is a single, rare id), invisible
 * characters that let a trigger ride along unseen, normalizers that rewrite or delete input before
 * the model sees it (so what the user typed is not what the model reads), and ids the embedding
 * matrix cannot hold.
 *
 * Input is the JSON value as parsed (JSON.parse leaves `__proto__` as an own property; every read
 * here goes through `own()` so such keys are data, never prototypes).
 */

export interface TokenizerAuditOptions {
  /** Name used in findings. */
  file?: string;
  /** Rows of the input embedding matrix, when known from the graph or weights. */
  embeddingRows?: number;
}

export interface TokenizerAudit {
  findings: Finding[];
  /** Highest token id (model vocab or added tokens) + 1, when the tokenizer has ids at all. */
  vocabSize: number | undefined;
}

// Zero-width, joiners, bidi embeddings/overrides/isolates, invisible operators, BOM, soft hyphen,
// variation selectors, Hangul fillers and Unicode tag characters (used to smuggle ASCII invisibly).
const INVISIBLE =
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFFB]|[\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]/u;
// Conventional special-token spellings that are all caps with brackets but are not triggers.
const CONVENTIONAL = new Set(['[CLS]', '[SEP]', '[PAD]', '[UNK]', '[MASK]', '[INST]', '[/INST]', '<<SYS>>', '<</SYS>>', '[BOS]', '[EOS]']);
const SPM_SPACE = '\u2581';
const LONG_TOKEN = 32;
const MAX_REPORTS = 50;
const MAX_DEPTH = 16;

type Json = unknown;

function own(o: Json, key: string): Json {
  return o !== null && typeof o === 'object' && !Array.isArray(o) && Object.hasOwn(o, key) ? (o as Record<string, Json>)[key] : undefined;
}

function isObject(o: Json): o is Record<string, Json> {
  return o !== null && typeof o === 'object' && !Array.isArray(o);
}

function show(s: string): string {
  const cut = s.length > 60 ? `${s.slice(0, 60)}…` : s;
  // Escape invisibles so the message shows what is there.
  return JSON.stringify(cut).replace(new RegExp(INVISIBLE.source, 'gu'), (c) => `\\u{${(c.codePointAt(0) as number).toString(16)}}`);
}

/** Why an added token's spelling looks like a planted trigger rather than vocabulary; empty if it doesn't. */
export function triggerShape(content: string): string[] {
  const reasons: string[] = [];
  if (CONVENTIONAL.has(content)) return reasons;
  if (/^\|[^|]+\|$/su.test(content)) reasons.push('pipe-delimited');
  const upper = content.match(/\p{Lu}/gu)?.length ?? 0;
  if (upper >= 3 && !/\p{Ll}/u.test(content) && /[\p{P}\p{S}\p{N}]/u.test(content)) reasons.push('caps-with-punctuation');
  if (content.length > LONG_TOKEN && content.trim() !== '') reasons.push('very-long');
  return reasons;
}

export function auditTokenizer(tokenizer: Json, opts: TokenizerAuditOptions = {}): TokenizerAudit {
  const file = opts.file ?? 'tokenizer.json';
  const findings: Finding[] = [];
  const counts = new Map<string, number>();
  const add = (id: string, severity: Severity, message: string, detail?: Record<string, unknown>): void => {
    const c = (counts.get(id) ?? 0) + 1;
    counts.set(id, c);
    if (c <= MAX_REPORTS) findings.push(finding(id, severity, file, `${file}: ${message}`, detail));
  };
  if (!isObject(tokenizer)) {
    add('tokenizer.not-object', 'high', 'is not a JSON object');
    return { findings, vocabSize: undefined };
  }

  // --- model vocabulary
  const model = own(tokenizer, 'model');
  const vocab = own(model, 'vocab');
  let maxId = -1;
  const vocabById = new Map<number, string>();
  if (isObject(vocab)) {
    for (const [piece, id] of Object.entries(vocab)) {
      if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) {
        if (id > maxId) maxId = id;
        vocabById.set(id, piece);
      }
    }
  } else if (Array.isArray(vocab)) {
    // Unigram: [[piece, score], ...], the id is the position.
    maxId = vocab.length - 1;
    vocab.forEach((e, i) => {
      if (Array.isArray(e) && typeof e[0] === 'string') vocabById.set(i, e[0]);
    });
  }

  // --- added tokens
  const added = own(tokenizer, 'added_tokens');
  if (added !== undefined && !Array.isArray(added)) add('tokenizer.bad-added-token', 'medium', 'added_tokens is not an array');
  for (const t of Array.isArray(added) ? added : []) {
    const content = own(t, 'content');
    const id = own(t, 'id');
    if (typeof content !== 'string' || typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      add('tokenizer.bad-added-token', 'medium', `added token ${show(String(content))} has no usable content/id`, { id: typeof id === 'number' ? id : null });
      continue;
    }
    if (id > maxId) maxId = id;
    const special = own(t, 'special') === true;
    if (INVISIBLE.test(content)) {
      add('tokenizer.invisible-chars-token', 'high', `added token ${id} ${show(content)} contains invisible, zero-width or bidi characters`, { id, content, special });
    }
    const shadowed = vocabById.get(id);
    if (shadowed !== undefined && shadowed !== content) {
      add('tokenizer.added-token-shadows-vocab', 'low', `added token ${id} ${show(content)} reuses the id of vocabulary entry ${show(shadowed)}`, { id, content, vocab: shadowed });
    }
    if (!special) {
      const reasons = triggerShape(content);
      if (reasons.length > 0) add('tokenizer.trigger-like-added-token', 'medium', `non-special added token ${id} ${show(content)} looks like a trigger (${reasons.join(', ')})`, { id, content, reasons });
    }
  }

  // --- text rewriting before the model sees it
  walkNode(own(tokenizer, 'normalizer'), 'normalizer', 0, add);
  walkNode(own(tokenizer, 'pre_tokenizer'), 'pre_tokenizer', 0, add);
  walkNode(own(tokenizer, 'decoder'), 'decoder', 0, add);

  const vocabSize = maxId >= 0 ? maxId + 1 : undefined;
  if (opts.embeddingRows !== undefined && vocabSize !== undefined && vocabSize > opts.embeddingRows) {
    add('tokenizer.vocab-exceeds-embeddings', 'high', `token ids reach ${vocabSize - 1} but the embedding has only ${opts.embeddingRows} rows; those ids index past the matrix`, {
      vocabSize,
      embeddingRows: opts.embeddingRows,
    });
  }
  return { findings, vocabSize };
}

type Stage = 'normalizer' | 'pre_tokenizer' | 'decoder';
type Add = (id: string, severity: Severity, message: string, detail?: Record<string, unknown>) => void;

function patternOf(node: Json): { kind: 'String' | 'Regex'; value: string } | undefined {
  const p = own(node, 'pattern');
  const s = own(p, 'String');
  if (typeof s === 'string') return { kind: 'String', value: s };
  const r = own(p, 'Regex');
  if (typeof r === 'string') return { kind: 'Regex', value: r };
  return undefined;
}

function isWhitespacePattern(p: { kind: string; value: string } | undefined): boolean {
  if (!p) return false;
  return p.kind === 'String' ? /^\s+$/u.test(p.value) : ['\\s+', '\\s', ' +', ' ', '\\s*'].includes(p.value);
}

function walkNode(node: Json, stage: Stage, depth: number, add: Add): void {
  if (!isObject(node)) return;
  if (depth > MAX_DEPTH) {
    add('tokenizer.too-deep', 'high', `${stage} nesting deeper than ${MAX_DEPTH}: could not be fully checked, so the tokenizer is refused`);
    return;
  }
  const type = own(node, 'type');
  const children = own(node, stage === 'normalizer' ? 'normalizers' : stage === 'pre_tokenizer' ? 'pretokenizers' : 'decoders');
  if (type === 'Sequence' && Array.isArray(children)) {
    for (const c of children) walkNode(c, stage, depth + 1, add);
    return;
  }
  const pattern = patternOf(node);
  const shownPattern = pattern ? `${pattern.kind} ${show(pattern.value)}` : '(no pattern)';
  if (stage === 'normalizer') {
    if (type === 'Replace') {
      const content = own(node, 'content');
      const detail = { pattern, content };
      if (content === '') add('tokenizer.normalizer-deletes-text', 'high', `normalizer deletes every match of ${shownPattern} from the input before tokenizing`, detail);
      else if (pattern?.kind === 'String' && pattern.value === ' ' && content === SPM_SPACE) add('tokenizer.normalizer-sentencepiece', 'info', 'normalizer maps spaces to ▁ (SentencePiece convention)', detail);
      else add('tokenizer.normalizer-rewrites-text', 'medium', `normalizer replaces ${shownPattern} with ${show(String(content))} before tokenizing`, detail);
    } else if (type === 'Prepend') {
      const prepend = own(node, 'prepend');
      if (prepend === SPM_SPACE) add('tokenizer.normalizer-sentencepiece', 'info', 'normalizer prepends ▁ (SentencePiece convention)', { prepend });
      else add('tokenizer.normalizer-injects-text', 'high', `normalizer prepends ${show(String(prepend))} to every input`, { prepend });
    } else if (type === 'Append') {
      add('tokenizer.normalizer-injects-text', 'high', `normalizer appends ${show(String(own(node, 'append')))} to every input`, { append: own(node, 'append') });
    } else if (type === 'Strip') {
      add('tokenizer.normalizer-strips-text', 'low', 'normalizer strips leading/trailing whitespace from the input', { left: own(node, 'strip_left'), right: own(node, 'strip_right') });
    }
  } else if (stage === 'pre_tokenizer') {
    if (type === 'Split' && own(node, 'behavior') === 'Removed' && !isWhitespacePattern(pattern)) {
      add('tokenizer.pretokenizer-drops-text', 'high', `pre-tokenizer removes every match of ${shownPattern} from the input`, { pattern });
    }
  } else if (type === 'Replace') {
    const content = own(node, 'content');
    const spm = pattern?.kind === 'String' && pattern.value === SPM_SPACE && content === ' ';
    if (!spm) add('tokenizer.decoder-rewrites-text', 'medium', `decoder replaces ${shownPattern} with ${show(String(content))} in generated text`, { pattern, content });
  }
}
