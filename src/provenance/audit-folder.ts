import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { embeddingRows } from '../formats/onnx.js';
import { checkExpectations } from './expect.js';
import type { ExpectationResult } from './expect.js';
import { finding, severityRank } from './finding.js';
import type { Finding } from './finding.js';
import { MODEL_SIGNING_IGNORE, buildManifest } from './manifest.js';
import type { Manifest } from './manifest.js';
import { absentSignature, verifyModelSignature } from './model-signing.js';
import type { SignatureCheck } from './model-signing.js';
import { auditOnnx } from './onnx-audit.js';
import type { OnnxAudit } from './onnx-audit.js';
import { checkPins } from './pins.js';
import type { PinCheck, PinMode } from './pins.js';
import { scanModelPickles } from './pickle-scan.js';
import { inspectSafetensors } from './safetensors.js';
import { checkSafetensorsIndex } from './safetensors-index.js';
import { auditTokenizer } from './tokenizer-audit.js';
import { decodeUtf8, parseUntrustedJson, readSmallFile } from './untrusted-json.js';

/**
 * Everything the provenance layer knows about a model folder, in one call, before any model code
 * or graph is loaded: the content manifest, static checks of every file (pickles walked, never
 * loaded; safetensors headers and index; tokenizer; every ONNX graph), a model_signing signature
 * when present, the trust-on-first-use pin and `--expect` digests.
 *
 * `blocked` is true when an ONNX graph must not be handed to ONNX Runtime at all (external data
 * escaping the folder, ORT's in-memory address tag, unparseable graph...). A dangerous pickle is
 * critical but does not block: nothing here or in the scan ever unpickles.
 */

export interface AuditFolderOptions {
  /** The graph the scan will load, absolute or relative to the folder. */
  graphPath?: string;
  pins?: { file?: string; mode: PinMode; name?: string; note?: string };
  expect?: string[];
  /** `path` defaults to `<dir>/model.sig` when that exists. */
  signature?: { path?: string; publicKeyPem?: string; trustCertPem?: string };
  /** Base for relative `expect` file names; default process.cwd(). */
  cwd?: string;
}

export interface FolderAudit {
  dir: string;
  manifest: Manifest;
  /** Every finding: files, graphs, signature, pin and expectation failures; worst first. */
  fileFindings: Finding[];
  /** Per ONNX graph in the folder. */
  onnx: OnnxAudit[];
  /** The graph `blocked` refers to (relative), when one was found. */
  graph?: string;
  pin: PinCheck;
  expectations: ExpectationResult[];
  signature: SignatureCheck;
  /** One line per failed integrity check (pin, expectation, signature). */
  failedChecks: string[];
  blocked: boolean;
  blockReason?: string;
}

const GRAPH_PREFERENCE = ['model.onnx', 'onnx/model.onnx', 'decoder_model_merged.onnx', 'onnx/decoder_model_merged.onnx', 'past.onnx'];
const SHARED_LIBRARY = /\.(so|dll|dylib)(\.\d+)*$/i;
const MAX_JSON_BYTES = 256 * 1024 * 1024;

async function exists(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

/**
 * Config files go through the duplicate-key check; tokenizer.json (megabytes) is read with
 * JSON.parse like the tokenizer library reads it, since the audit must see what the loader sees.
 */
async function readJson(abs: string, strict = true): Promise<{ ok: true; value: unknown } | { ok: false; error: string }> {
  const r = await readSmallFile(abs, MAX_JSON_BYTES);
  if (!r.ok) return r;
  const text = decodeUtf8(r.bytes);
  if (text === undefined) return { ok: false, error: 'not UTF-8' };
  if (strict) return parseUntrustedJson(text);
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: `not valid JSON (${(err as Error).message})` };
  }
}

/** Token ids config.json (and generation_config.json) declare, with the key that declares them. */
function specialIds(configs: unknown[]): Map<number, string> {
  const out = new Map<number, string>();
  const walk = (o: unknown, prefix: string, depth: number): void => {
    if (depth > 3 || o === null || typeof o !== 'object' || Array.isArray(o)) return;
    for (const [k, v] of Object.entries(o)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (/token_(id|index)s?$|_token_ids?$/.test(k)) {
        for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'number' && Number.isInteger(x) && !out.has(x)) out.set(x, key);
      } else if (v && typeof v === 'object') walk(v, key, depth + 1);
    }
  };
  for (const c of configs) walk(c, '', 0);
  return out;
}

/** id → token text from a tokenizer.json, for messages. */
function tokenTexts(tok: unknown): Map<number, string> {
  const out = new Map<number, string>();
  const m = (tok as { model?: { vocab?: unknown } } | null)?.model?.vocab;
  if (Array.isArray(m)) m.forEach((e, i) => Array.isArray(e) && typeof e[0] === 'string' && out.set(i, e[0]));
  else if (m && typeof m === 'object') for (const [t, id] of Object.entries(m)) if (typeof id === 'number') out.set(id, t);
  const added = (tok as { added_tokens?: unknown } | null)?.added_tokens;
  if (Array.isArray(added)) for (const a of added) if (a && typeof a.id === 'number' && typeof a.content === 'string') out.set(a.id, a.content);
  return out;
}

export async function auditModelFolder(dirArg: string, opts: AuditFolderOptions = {}): Promise<FolderAudit> {
  const dir = path.resolve(dirArg);
  const findings: Finding[] = [];
  const failedChecks: string[] = [];

  // The signature file is not model content: leave it out of digests and pins.
  const sigPath = opts.signature?.path !== undefined ? path.resolve(opts.cwd ?? process.cwd(), opts.signature.path) : (await exists(path.join(dir, 'model.sig'))) ? path.join(dir, 'model.sig') : undefined;
  if (opts.signature?.path !== undefined && !(await exists(sigPath as string))) {
    throw new UserError('E_SIGNATURE_READ', `${opts.signature.path}: signature file not found`, opts.signature.path);
  }
  const ignore = [...MODEL_SIGNING_IGNORE];
  if (sigPath) {
    const rel = path.relative(dir, sigPath);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) ignore.push(rel.split(path.sep).join('/'));
  }
  const manifest = await buildManifest(dir, { ignore });
  const files = manifest.files.map((f) => f.path);
  const abs = (rel: string) => path.join(dir, ...rel.split('/'));

  // ---- folder-level
  for (const f of files) {
    const base = path.posix.basename(f);
    if (SHARED_LIBRARY.test(base)) findings.push(finding('folder.shared-library', 'high', abs(f), `${abs(f)}: native shared library in the model folder; custom-op libraries run arbitrary code when a host registers them`));
    else if (/\.py$/i.test(base)) findings.push(finding('folder.python-code', 'medium', abs(f), `${abs(f)}: Python code in the model folder; transformers runs it with trust_remote_code (trigger-scan never does)`));
  }

  // ---- pickles, safetensors, index
  findings.push(...(await scanModelPickles(dir, files)).findings);
  for (const f of files.filter((p) => /\.safetensors$/i.test(p))) findings.push(...(await inspectSafetensors(abs(f))).findings);
  for (const f of files.filter((p) => /\.safetensors\.index\.json$/i.test(p))) {
    findings.push(...(await checkSafetensorsIndex(path.dirname(abs(f)), { indexName: path.posix.basename(f), checkShards: true })).findings);
  }

  // ---- config and tokenizer (for messages and the tokenizer audit)
  const configs: unknown[] = [];
  for (const name of ['config.json', 'generation_config.json']) {
    if (!files.includes(name)) continue;
    const c = await readJson(abs(name));
    if (c.ok) configs.push(c.value);
    else findings.push(finding('config.unreadable', 'medium', abs(name), `${abs(name)}: ${c.error}`));
  }
  const special = specialIds(configs);
  let tokenizer: unknown;
  let texts = new Map<number, string>();
  const tokRel = files.includes('tokenizer.json') ? 'tokenizer.json' : files.find((f) => path.posix.basename(f) === 'tokenizer.json');
  if (tokRel) {
    const t = await readJson(abs(tokRel), false);
    if (t.ok) {
      tokenizer = t.value;
      texts = tokenTexts(tokenizer);
    } else findings.push(finding('tokenizer.unreadable', 'high', abs(tokRel), `${abs(tokRel)}: ${t.error}`));
  }

  // ---- ONNX graphs
  const graphs = files.filter((f) => /\.onnx$/i.test(f));
  let mainRel: string | undefined;
  if (opts.graphPath !== undefined) {
    const g = path.resolve(dir, opts.graphPath);
    mainRel = path.relative(dir, g).split(path.sep).join('/');
    if (!graphs.includes(mainRel)) graphs.push(mainRel);
  } else {
    mainRel = GRAPH_PREFERENCE.find((p) => graphs.includes(p)) ?? graphs[0];
  }
  const onnx: OnnxAudit[] = [];
  let rows: number | undefined;
  for (const g of graphs) {
    const a = await auditOnnx(path.resolve(dir, g), {
      modelDir: dir,
      specialTokenIds: special,
      tokenText: (id) => texts.get(id),
      withInfo: g === mainRel,
    });
    onnx.push(a);
    findings.push(...a.findings);
    if (g === mainRel && a.info) rows = embeddingRows(a.info)?.rows;
  }
  if (tokenizer !== undefined && tokRel) findings.push(...auditTokenizer(tokenizer, { file: abs(tokRel), ...(rows !== undefined ? { embeddingRows: rows } : {}) }).findings);

  // ---- signature
  let signature: SignatureCheck;
  if (sigPath) {
    signature = await verifyModelSignature(manifest, {
      sigPath,
      ...(opts.signature?.publicKeyPem !== undefined ? { publicKeyPem: opts.signature.publicKeyPem } : {}),
      ...(opts.signature?.trustCertPem !== undefined ? { trustCertPem: opts.signature.trustCertPem } : {}),
    });
  } else if (opts.signature?.publicKeyPem !== undefined || opts.signature?.trustCertPem !== undefined) {
    signature = { ...absentSignature(), status: 'failed', failed: true, reasons: [`${dir}: a key or trusted certificate was given but the folder has no model.sig`] };
    signature.findings = [finding('model-signing.missing', 'high', dir, signature.reasons[0] as string)];
  } else {
    signature = absentSignature();
  }
  findings.push(...signature.findings);
  if (signature.failed) failedChecks.push(`signature ${signature.file || 'model.sig'}: ${signature.reasons[0] ?? 'failed'}`);

  // ---- pins and expectations
  const pin = opts.pins ? await checkPins(manifest, opts.pins) : await checkPins(manifest, { mode: 'off' });
  if (pin.status === 'mismatch') {
    findings.push(finding('pin.mismatch', 'critical', dir, pin.message, { name: pin.name, pinFile: pin.file, changed: pin.diff.changed.map((c) => c.path), missing: pin.diff.missing, extra: pin.diff.extra }));
  } else if (pin.status === 'unknown') {
    findings.push(finding('pin.unknown', 'high', dir, pin.message, { name: pin.name, pinFile: pin.file }));
  }
  if (pin.failed) failedChecks.push(pin.message);

  const expectations = await checkExpectations(manifest, opts.expect ?? [], opts.cwd !== undefined ? { cwd: opts.cwd } : {});
  for (const e of expectations.filter((x) => !x.ok)) {
    findings.push(finding('expect.mismatch', 'critical', dir, `${dir}: ${e.message}`, { source: e.source, problems: e.problems.filter((p) => p.kind !== 'not-listed').slice(0, 50) }));
    failedChecks.push(e.message);
  }

  // ---- blocking
  const mainAudit = onnx.find((a) => a.file === path.resolve(dir, mainRel ?? ''));
  const blocking = opts.graphPath !== undefined ? (mainAudit?.blocked ? [mainAudit] : []) : onnx.filter((a) => a.blocked);
  findings.sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  const out: FolderAudit = { dir, manifest, fileFindings: findings, onnx, pin, expectations, signature, failedChecks, blocked: blocking.length > 0 };
  if (mainRel) out.graph = mainRel;
  if (blocking[0]?.blockReason) out.blockReason = blocking[0].blockReason;
  return out;
}
