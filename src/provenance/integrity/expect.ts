import path from 'node:path';
import { UserError } from '../../errors.js';
import type { Manifest } from './manifest.js';
import { compareSignedResources, normalisePosix, parseModelSigningStatement, parseSignatureBundle } from './model-signing.js';
import { decodeUtf8, parseUntrustedJson, readSmallFile } from '../../formats/untrusted-json.js';

/**
 * `--expect`: digests published by sources independent of the download (a model card, a release
 * note, a colleague's SHA256SUMS, the publisher's model.sig). Every source must agree with the
 * folder; each result says which source disagreed about which file.
 *
 * A source is one of:
 * - a bare 64-hex digest or `sha256:<hex>`: must equal the folder's model_signing root digest
 *   (what `model_signing digest` prints) or its dirHash1 directory digest;
 * - a SHA256SUMS-style file: lines `<hex>  <path>` (GNU, `*` binary marker and `./` prefix
 *   allowed) or `SHA256 (<path>) = <hex>` (BSD). Every listed file must exist with that digest.
 *   Folder files the list does not mention are reported as `not-listed` but do not fail the
 *   source: such lists often leave out READMEs, and the list cannot contain its own digest;
 * - a model_signing `model.sig` (Sigstore bundle), bare DSSE envelope or in-toto statement JSON:
 *   its resources are compared as a set, so unsigned extra files do fail. Its signature is NOT
 *   checked here (that is `--signature`); it is used only as a list of published digests.
 */

export type ExpectationKind = 'digest' | 'sha256sums' | 'model-signing';

export interface ExpectationProblem {
  kind: 'changed' | 'missing' | 'extra' | 'not-listed' | 'digest-mismatch';
  file?: string;
  expected?: string;
  actual?: string;
}

export interface ExpectationResult {
  /** The --expect argument as given. */
  source: string;
  kind: ExpectationKind;
  ok: boolean;
  /** For digests: which folder digest it matched. */
  matched?: 'rootDigest' | 'directoryDigest';
  /** Failures first; `not-listed` entries are informational. */
  problems: ExpectationProblem[];
  /** One line naming the source and, on failure, the first file it disagrees about. */
  message: string;
}

const MAX_LIST_BYTES = 64 * 1024 * 1024;

function digestArg(s: string): string | undefined {
  const m = /^(?:sha256[:-])?([0-9a-fA-F]{64})$/.exec(s.trim());
  return m ? (m[1] as string).toLowerCase() : undefined;
}

function digestResult(source: string, hex: string, manifest: Manifest): ExpectationResult {
  if (hex === manifest.rootDigest) return { source, kind: 'digest', ok: true, matched: 'rootDigest', problems: [], message: `${source}: matches the model_signing root digest` };
  if (hex === manifest.directoryDigest) return { source, kind: 'digest', ok: true, matched: 'directoryDigest', problems: [], message: `${source}: matches the directory digest (dirHash1)` };
  return {
    source,
    kind: 'digest',
    ok: false,
    problems: [{ kind: 'digest-mismatch', expected: hex, actual: manifest.rootDigest }],
    message: `${source}: matches neither the root digest sha256:${manifest.rootDigest} nor the directory digest ${manifest.directoryDigest} of ${manifest.dir}`,
  };
}

/** Parse SHA256SUMS lines; returns undefined when the text is not such a list. */
export function parseSha256Sums(text: string): Map<string, string> | { error: string } | undefined {
  const out = new Map<string, string>();
  let lineNo = 0;
  for (const raw of text.split(/\r?\n/)) {
    lineNo++;
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#')) continue;
    let m = /^\\?([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!m) {
      const bsd = /^SHA256 \((.+)\) = ([0-9a-fA-F]{64})$/.exec(line);
      if (bsd) m = [line, bsd[2] as string, bsd[1] as string] as unknown as RegExpExecArray;
    }
    if (!m) return lineNo === 1 ? undefined : { error: `line ${lineNo} is not "<sha256>  <path>"` };
    const p = normalisePosix(m[2] as string);
    const hex = (m[1] as string).toLowerCase();
    const prev = out.get(p);
    if (prev !== undefined && prev !== hex) return { error: `line ${lineNo} lists ${p} a second time with another digest` };
    out.set(p, hex);
  }
  return out.size ? out : undefined;
}

function sumsResult(source: string, list: Map<string, string>, manifest: Manifest): ExpectationResult {
  const actual = new Map(manifest.files.map((f) => [f.path, f.sha256]));
  // Lists are often made one level up (`sha256sum model/*`): accept the folder's own name as a prefix.
  const base = path.basename(path.resolve(manifest.dir));
  const resolve = (p: string) => (actual.has(p) ? p : p.startsWith(`${base}/`) && actual.has(p.slice(base.length + 1)) ? p.slice(base.length + 1) : p);
  const problems: ExpectationProblem[] = [];
  const listed = new Set<string>();
  for (const [p0, hex] of list) {
    const p = resolve(p0);
    listed.add(p);
    const a = actual.get(p);
    if (a === undefined) problems.push({ kind: 'missing', file: p, expected: hex });
    else if (a !== hex) problems.push({ kind: 'changed', file: p, expected: hex, actual: a });
  }
  const failures = problems.length;
  for (const f of manifest.files) if (!listed.has(f.path)) problems.push({ kind: 'not-listed', file: f.path, actual: f.sha256 });
  const first = problems[0];
  return {
    source,
    kind: 'sha256sums',
    ok: failures === 0,
    problems,
    message:
      failures === 0
        ? `${source}: all ${list.size} listed files match${problems.length ? ` (${problems.length} folder file${problems.length === 1 ? '' : 's'} not listed)` : ''}`
        : `${source}: disagrees about ${failures} file${failures === 1 ? '' : 's'}; first: ${first?.file} is ${first?.kind === 'missing' ? 'missing' : 'different'}`,
  };
}

async function modelSigningResult(source: string, value: unknown, manifest: Manifest, sourcePath: string): Promise<ExpectationResult> {
  let payload: Buffer;
  const asBundle = parseSignatureBundle(value);
  if (asBundle.ok) payload = asBundle.value.payload;
  else payload = Buffer.from(JSON.stringify(value));
  const st = parseModelSigningStatement(payload);
  if (!st.ok) throw new UserError('E_EXPECT_PARSE', `${source}: not a model_signing signature or statement (${asBundle.ok ? st.error : asBundle.error})`, source);
  const rel = path.relative(path.resolve(manifest.dir), sourcePath);
  const skip = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? [rel.split(path.sep).join('/')] : [];
  const cmp = await compareSignedResources(manifest, st.value, skip);
  if (!cmp.ok) throw new UserError('E_EXPECT_PARSE', `${source}: ${cmp.error}`, source);
  const d = cmp.value;
  const problems: ExpectationProblem[] = [
    ...d.changed.map((c) => ({ kind: 'changed' as const, file: c.path, expected: c.signed, actual: c.actual })),
    ...d.missing.map((m) => ({ kind: 'missing' as const, file: m })),
    ...d.extra.map((e) => ({ kind: 'extra' as const, file: e })),
  ];
  const first = problems[0];
  return {
    source,
    kind: 'model-signing',
    ok: problems.length === 0,
    problems,
    message:
      problems.length === 0
        ? `${source}: all ${st.value.resources.length} signed resources match (signature not checked here)`
        : `${source}: disagrees about ${problems.length} file${problems.length === 1 ? '' : 's'}; first: ${first?.file} is ${first?.kind === 'extra' ? 'not in the list' : first?.kind}`,
  };
}

/**
 * Check every source; throws UserError when a source is neither a digest nor a readable list
 * (a typo must not pass silently). `cwd` resolves relative file names.
 */
export async function checkExpectations(manifest: Manifest, expects: readonly string[], opts: { cwd?: string } = {}): Promise<ExpectationResult[]> {
  const results: ExpectationResult[] = [];
  for (const source of expects) {
    const hex = digestArg(source);
    if (hex) {
      results.push(digestResult(source, hex, manifest));
      continue;
    }
    const file = path.resolve(opts.cwd ?? process.cwd(), source);
    const r = await readSmallFile(file, MAX_LIST_BYTES);
    if (!r.ok) {
      throw new UserError('E_EXPECT_SOURCE', `${source}: --expect takes a sha256 digest (64 hex digits, optionally sha256:) or a digest file; this file ${r.error}`, source);
    }
    const text = decodeUtf8(r.bytes);
    if (text === undefined) throw new UserError('E_EXPECT_PARSE', `${source}: digest file is not UTF-8 text`, source);
    const trimmed = text.trim();
    const single = digestArg(trimmed);
    if (single) {
      results.push(digestResult(source, single, manifest));
      continue;
    }
    if (trimmed.startsWith('{')) {
      const parsed = parseUntrustedJson(trimmed);
      if (!parsed.ok) throw new UserError('E_EXPECT_PARSE', `${source}: ${parsed.error}`, source);
      results.push(await modelSigningResult(source, parsed.value, manifest, file));
      continue;
    }
    const sums = parseSha256Sums(text);
    if (sums === undefined) throw new UserError('E_EXPECT_PARSE', `${source}: not a digest, a SHA256SUMS list or a model_signing JSON file`, source);
    if ('error' in sums) throw new UserError('E_EXPECT_PARSE', `${source}: ${sums.error}`, source);
    results.push(sumsResult(source, sums, manifest));
  }
  return results;
}

