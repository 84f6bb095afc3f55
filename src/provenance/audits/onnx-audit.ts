import { constants as fsc } from 'node:fs';
import { lstat, open, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { describeOpenError, readRegularFile } from '../../util/regular-file.js';
import { MAX_INLINE_GRAPH_BYTES, onnxGraphInfo } from '../../formats/onnx.js';
import type { OnnxGraphInfo } from '../../formats/onnx.js';
import { finding } from '../../formats/finding.js';
import type { Finding, Severity } from '../../formats/finding.js';
import { findInputConditionedBranches } from './onnx-backdoor.js';
import { type Msg, ELEM_BITS, allTensors, arr, attr, constantNodeValues, decodeOnnxModel, elementCount, forEachGraph, has, inlineElements, str, tensorValues, toNum } from '../../formats/onnx-proto.js';

/**
 * Static checks of an ONNX graph file before anything loads it:
 *
 * - external data (`TensorProto.data_location = EXTERNAL`): the `location` must be a relative
 *   path that stays inside the model folder without symlinks, names a regular file, and
 *   `offset`/`length` must be non-negative decimals inside that file (CVE-2022-25882,
 *   CVE-2024-27318, CVE-2026-27489, GHSA-538c-55jv-c5g9). ONNX Runtime's in-memory tag
 *   `*\/_ORT_MEM_ADDR_/*` turns `offset` into a raw pointer and must never come from a file.
 *   ORT's EPContext nodes with `embed_mode=0` carry a path too; it gets the same checks;
 * - operator domains: anything outside the ONNX and ONNX Runtime domains needs a host-registered
 *   custom-op library; model-local functions are listed and their bodies audited;
 * - declared tensor sizes that the stored data does not back, and constant shapes fed to
 *   ConstantOfShape/Expand/Range that would allocate gigabytes;
 * - graph-level backdoors (see onnx-backdoor.ts).
 *
 * `blocked` means the graph must not be given to ONNX Runtime at all.
 */

export const KNOWN_DOMAINS: ReadonlySet<string> = new Set([
  '', 'ai.onnx', 'ai.onnx.ml', 'ai.onnx.training', 'ai.onnx.preview.training', 'ai.onnx.contrib',
  'com.microsoft', 'com.microsoft.nchwc', 'com.ms.internal.nhwc', 'com.microsoft.dml', 'com.microsoft.experimental',
  'org.pytorch.aten', 'com.intel.ai', 'com.xilinx',
]);

/** Ids of findings that make the graph unsafe to load. */
export const BLOCKING_ONNX_FINDINGS: ReadonlySet<string> = new Set([
  'onnx.unparseable',
  'onnx.external-data-escape',
  'onnx.external-data-symlink',
  'onnx.external-data-not-regular',
  'onnx.external-data-bad-number',
  'onnx.external-data-out-of-bounds',
  'onnx.external-data-duplicate-key',
  'onnx.ort-mem-addr',
]);

const EXTERNAL_KEYS = new Set(['location', 'offset', 'length', 'checksum']);
const MEDIUM_ELEMENTS = 1n << 28n;
const HIGH_ELEMENTS = 1n << 32n;
const MAX_PER_ID = 20;

export interface OnnxAuditOptions {
  /** The folder external data must stay inside; default the graph's own folder. */
  modelDir?: string;
  /** Token ids config.json declares (pad/eos/...), id → key, for the backdoor check. */
  specialTokenIds?: ReadonlyMap<number, string>;
  tokenText?: (id: number) => string | undefined;
  /** Validated symlinks (absolute link path → real path), e.g. a Hugging Face snapshot's blob links. */
  followedLinks?: ReadonlyMap<string, string>;
  /** Also decode the structure with src/formats/onnx (for embedding rows); default true. */
  withInfo?: boolean;
}

export interface OnnxAudit {
  file: string;
  findings: Finding[];
  blocked: boolean;
  blockReason?: string;
  info?: OnnxGraphInfo;
  opsets: { domain: string; version: number }[];
  /** Operator domains used by nodes (`''` is the default ONNX domain). */
  domains: string[];
  functions: { domain: string; name: string; nodes: number }[];
  /** External data files referenced, relative to the model folder (only those that resolved inside it). */
  externalFiles: string[];
}

export async function auditOnnx(file: string, opts: OnnxAuditOptions = {}): Promise<OnnxAudit> {
  let bytes: Buffer;
  try {
    // A snapshot's graph is a validated link: read the blob it names, never follow a link here.
    bytes = await readRegularFile(opts.followedLinks?.get(file) ?? file, MAX_INLINE_GRAPH_BYTES, { noFollow: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EFBIG') return failed(file, `${file}: ${e.message}, past protobuf's 2 GiB limit; no loader can read it either`);
    return failed(file, `${file}: ${describeOpenError(err)}`);
  }
  return auditOnnxBytes(bytes, file, opts);
}

function failed(file: string, message: string): OnnxAudit {
  return {
    file,
    findings: [finding('onnx.unparseable', 'high', file, message)],
    blocked: true,
    blockReason: message,
    opsets: [],
    domains: [],
    functions: [],
    externalFiles: [],
  };
}

export async function auditOnnxBytes(bytes: Uint8Array, file: string, opts: OnnxAuditOptions = {}): Promise<OnnxAudit> {
  let model: Msg;
  try {
    model = decodeOnnxModel(bytes);
  } catch (err) {
    return failed(file, `${file}: not a decodable ONNX model (${(err as Error).message}); refusing to hand it to a runtime`);
  }
  if (!model.graph) return failed(file, `${file}: ONNX model has no graph`);

  const findings: Finding[] = [];
  const counts = new Map<string, number>();
  const add = (id: string, severity: Severity, message: string, detail?: Record<string, unknown>): void => {
    const c = (counts.get(id) ?? 0) + 1;
    counts.set(id, c);
    if (c <= MAX_PER_ID) findings.push(finding(id, severity, file, `${file}: ${message}`, detail));
  };

  const graphDir = path.dirname(path.resolve(file));
  const modelDir = path.resolve(opts.modelDir ?? graphDir);
  const externalFiles = new Set<string>();
  const pathCheck = new PathChecker(graphDir, modelDir, opts.followedLinks);

  // ---- external data (every tensor anywhere in the model)
  for (const { tensor: t, where } of allTensors(model)) {
    if (toNum(t.data_location) !== 1) continue;
    const entries = arr(t.external_data).map((e) => ({ key: str(e.key), value: str(e.value) }));
    const seen = new Map<string, number>();
    for (const e of entries) seen.set(e.key, (seen.get(e.key) ?? 0) + 1);
    for (const [k, n] of seen) {
      if (n > 1) add(k === 'location' ? 'onnx.external-data-duplicate-key' : 'onnx.external-data-bad-key', k === 'location' ? 'critical' : 'high', `${where} repeats external-data key ${JSON.stringify(k)} ${n} times; loaders disagree about which one wins`, { key: k });
      else if (k === 'basepath') add('onnx.external-data-escape', 'critical', `${where} sets external-data key "basepath", which only a runtime may set; it redirects every path`, { key: k });
      else if (!EXTERNAL_KEYS.has(k)) add('onnx.external-data-bad-key', 'high', `${where} has unknown external-data key ${JSON.stringify(k)}`, { key: k });
    }
    const get = (k: string) => entries.find((e) => e.key === k)?.value;
    const location = get('location');
    if (location === undefined || location === '') {
      add('onnx.external-data-no-location', 'high', `${where} is stored externally but names no location`);
      continue;
    }
    if (location.includes('_ORT_MEM_ADDR_')) {
      add('onnx.ort-mem-addr', 'critical', `${where} uses ONNX Runtime's in-memory tag ${JSON.stringify(location)}: its offset would be read as a raw memory address`, { location });
      continue;
    }
    const offsetRaw = get('offset');
    const lengthRaw = get('length');
    let badNumber = false;
    for (const [k, v] of [['offset', offsetRaw], ['length', lengthRaw]] as const) {
      if (v !== undefined && (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v)))) {
        badNumber = true;
        add('onnx.external-data-bad-number', 'critical', `${where} has external-data ${k} ${JSON.stringify(v)}, not a non-negative decimal`, { key: k, value: v });
      }
    }
    const resolved = await pathCheck.check(location);
    if (resolved.problem) {
      add(resolved.problem.id, resolved.problem.severity, `${where}: external data location ${JSON.stringify(location)} ${resolved.problem.message}`, { location });
      continue;
    }
    if (resolved.rel) externalFiles.add(resolved.rel);
    if (resolved.nlink !== undefined && resolved.nlink > 1) {
      add('onnx.external-data-hardlink', 'medium', `external data file ${JSON.stringify(location)} has ${resolved.nlink} hard links; onnx refuses those since the other link may live outside the folder`, { location });
    }
    if (badNumber || resolved.size === undefined) continue;
    const offset = offsetRaw === undefined ? 0 : Number(offsetRaw);
    const bits = ELEM_BITS[toNum(t.data_type)];
    const { count } = elementCount(t);
    const declared = bits === undefined ? undefined : (count * BigInt(bits) + 7n) / 8n;
    const length = lengthRaw === undefined ? declared : BigInt(lengthRaw);
    if (offset > resolved.size || (length !== undefined && BigInt(offset) + length > BigInt(resolved.size))) {
      add('onnx.external-data-out-of-bounds', 'critical', `${where} reads bytes ${offset}..${length === undefined ? '?' : BigInt(offset) + length} of ${JSON.stringify(location)}, which has ${resolved.size} bytes`, { location, offset, length: length?.toString(), fileSize: resolved.size });
      continue;
    }
    if (lengthRaw !== undefined && declared !== undefined && BigInt(lengthRaw) !== declared) {
      add('onnx.external-data-size-mismatch', 'high', `${where} declares ${declared} bytes by shape and type but external length ${lengthRaw}`, { location, declared: declared.toString(), length: lengthRaw });
    }
  }

  // ---- inline tensor sizes
  for (const { tensor: t, where } of allTensors(model)) {
    if (toNum(t.data_location) === 1) continue;
    const { count, negative } = elementCount(t);
    if (negative) {
      add('onnx.bad-dims', 'high', `${where} has a negative dimension`);
      continue;
    }
    const bits = ELEM_BITS[toNum(t.data_type)];
    const present = inlineElements(t);
    if (!present) continue;
    let ok = true;
    if ('raw' in present) ok = bits === undefined || BigInt(present.raw) === (count * BigInt(bits) + 7n) / 8n;
    else if (count > 0n) ok = present.elements > 0 && (BigInt(present.elements) === count || BigInt(present.elements) === 2n * count || (bits !== undefined && bits < 8));
    if (!ok) {
      add('onnx.tensor-size-mismatch', 'high', `${where} declares ${count} elements but stores ${'raw' in present ? `${present.raw} bytes` : `${present.elements} values`}; readers that trust the shape over-allocate or over-read`, { declared: count.toString() });
    }
  }

  // ---- domains, functions, EPContext, oversize shapes
  const functions = arr(model.functions).map((f) => ({ domain: str(f.domain), name: str(f.name), nodes: arr(f.node).length }));
  const fnKeys = new Set(functions.map((f) => `${f.domain}::${f.name}`));
  const fnDomains = new Set(functions.map((f) => f.domain));
  for (const f of functions) {
    add('onnx.local-function', 'info', `defines model-local function ${f.domain ? `${f.domain}.` : ''}${f.name} (${f.nodes} nodes; audited with the graph)`, { domain: f.domain, name: f.name });
    if (f.domain === '' || f.domain === 'ai.onnx') add('onnx.function-shadows-op', 'high', `model-local function ${JSON.stringify(f.name)} is declared in the standard ONNX domain, where it can stand in for a standard operator`, { name: f.name });
  }
  const usedDomains = new Map<string, Set<string>>();
  const noteNode = (n: Msg): void => {
    const d = str(n.domain);
    if (!usedDomains.has(d)) usedDomains.set(d, new Set());
    (usedDomains.get(d) as Set<string>).add(str(n.op_type));
  };
  const constValues = new Map<string, number[] | undefined>();
  const graphNodes: Msg[] = [];
  forEachGraph(model, (g) => {
    for (const t of arr(g.initializer)) constValues.set(str(t.name), tensorValues(t));
    for (const n of arr(g.node)) {
      graphNodes.push(n);
      if (str(n.op_type) === 'Constant' && str((n.output as string[] | undefined)?.[0])) constValues.set(str((n.output as string[])[0]), constantNodeValues(n));
    }
  });
  for (const f of arr(model.functions)) for (const n of arr(f.node)) graphNodes.push(n);
  for (const n of graphNodes) {
    const d = str(n.domain);
    if (!fnKeys.has(`${d}::${str(n.op_type)}`)) noteNode(n);
  }
  for (const [d, ops] of usedDomains) {
    if (!KNOWN_DOMAINS.has(d) && !fnDomains.has(d)) {
      add('onnx.unknown-domain', 'high', `uses operators from unknown domain ${JSON.stringify(d)} (${[...ops].slice(0, 8).join(', ')}); they run native code from a custom-op library the host must register`, { domain: d, ops: [...ops].slice(0, 50) });
    }
  }
  const opsets = arr(model.opset_import).map((o) => ({ domain: str(o.domain), version: toNum(o.version) }));
  for (const o of opsets) {
    if (!KNOWN_DOMAINS.has(o.domain) && !fnDomains.has(o.domain) && !usedDomains.has(o.domain)) {
      add('onnx.unknown-domain', 'medium', `imports opset of unknown domain ${JSON.stringify(o.domain)} (no node uses it)`, { domain: o.domain });
    }
  }

  for (const n of graphNodes) {
    const op = str(n.op_type);
    const label = JSON.stringify(str(n.name) || op);
    if (op === 'EPContext') {
      const embed = attr(n, 'embed_mode');
      const mode = embed && has(embed, 'i') ? toNum(embed.i) : 1;
      add('onnx.epcontext', 'medium', `node ${label} is an EPContext node: a precompiled execution-provider binary that cannot be audited`, { embedMode: mode });
      const ctx = attr(n, 'ep_cache_context');
      if (mode === 0 && ctx && has(ctx, 's')) {
        const p = Buffer.from(ctx.s as Uint8Array).toString('utf8');
        const r = await pathCheck.check(p);
        if (r.problem) add(r.problem.id, r.problem.severity, `node ${label} ep_cache_context path ${JSON.stringify(p)} ${r.problem.message}`, { location: p });
      }
    }
    const shapeIn = op === 'ConstantOfShape' ? (n.input as string[] | undefined)?.[0] : op === 'Expand' ? (n.input as string[] | undefined)?.[1] : undefined;
    if (shapeIn) {
      const v = constValues.get(shapeIn);
      if (v && v.length > 0 && v.every((x) => Number.isFinite(x) && x >= 0)) {
        const product = v.reduce((a, x) => a * BigInt(Math.trunc(x)), 1n);
        if (product >= MEDIUM_ELEMENTS) {
          add('onnx.oversize-constant-shape', product >= HIGH_ELEMENTS ? 'high' : 'medium', `node ${label} (${op}) builds a constant shape [${v.join(', ')}] = ${product} elements`, { op, shape: v, elements: product.toString() });
        }
      }
    }
    if (op === 'Range') {
      const [s, l, d] = ((n.input as string[] | undefined) ?? []).map((x) => constValues.get(x)?.[0]);
      if (s !== undefined && l !== undefined && d !== undefined && d !== 0) {
        const count = Math.ceil((l - s) / d);
        if (count >= Number(MEDIUM_ELEMENTS)) add('onnx.oversize-constant-shape', count >= Number(HIGH_ELEMENTS) ? 'high' : 'medium', `node ${label} (Range) produces ${count} elements from constants`, { op, elements: count });
      }
    }
  }

  // ---- graph backdoors
  try {
    findings.push(...findInputConditionedBranches(model, { file, ...(opts.specialTokenIds ? { specialTokenIds: opts.specialTokenIds } : {}), ...(opts.tokenText ? { tokenText: opts.tokenText } : {}) }));
  } catch (err) {
    add('onnx.analysis-failed', 'high', `the graph backdoor analysis failed (${(err as Error).message}): the graph could not be fully checked`);
  }

  const blocking = findings.filter((f) => BLOCKING_ONNX_FINDINGS.has(f.id));
  const out: OnnxAudit = {
    file,
    findings,
    blocked: blocking.length > 0,
    opsets,
    domains: [...usedDomains.keys()].sort(),
    functions,
    externalFiles: [...externalFiles].sort(),
  };
  if (blocking[0]) out.blockReason = `${blocking[0].message}; refusing to load the graph`;
  if (opts.withInfo !== false && !out.blocked) {
    try {
      out.info = onnxGraphInfo(model, file);
    } catch {
      // An empty or node-less graph: the scan reports it when it loads the graph.
    }
  }
  return out;
}

interface PathProblem {
  id: string;
  severity: Severity;
  message: string;
}

/**
 * Resolve an author-supplied relative path the way onnx's checker does, without opening it:
 * refuse absolute paths and drive letters, `..` that leaves the model folder, any symlink on the
 * way, and non-regular files; then confirm the real path is inside the real model folder.
 */
class PathChecker {
  private readonly cache = new Map<string, Promise<{ problem?: PathProblem; rel?: string; size?: number; nlink?: number }>>();
  private realModelDir: Promise<string> | undefined;

  constructor(
    private readonly graphDir: string,
    private readonly modelDir: string,
    private readonly followed: ReadonlyMap<string, string> = new Map(),
  ) {}

  check(location: string): Promise<{ problem?: PathProblem; rel?: string; size?: number; nlink?: number }> {
    let p = this.cache.get(location);
    if (!p) {
      p = this.run(location);
      this.cache.set(location, p);
    }
    return p;
  }

  private async run(location: string): Promise<{ problem?: PathProblem; rel?: string; size?: number; nlink?: number }> {
    const escape = (message: string): { problem: PathProblem } => ({ problem: { id: 'onnx.external-data-escape', severity: 'critical', message } });
    // eslint-disable-next-line no-control-regex
    if (/[\u0000]/.test(location)) return escape('contains a NUL byte');
    if (location.startsWith('/') || location.startsWith('\\') || /^[A-Za-z]:/.test(location) || path.isAbsolute(location)) return escape('is an absolute path; external data must sit beside the graph');
    const parts = location.split(/[/\\]/);
    const abs = path.resolve(this.graphDir, ...parts);
    const relToModel = path.relative(this.modelDir, abs);
    if (relToModel === '' || relToModel.startsWith('..') || path.isAbsolute(relToModel)) return escape('points outside the model folder');
    if (parts.includes('..')) {
      return { problem: { id: 'onnx.external-data-parent-ref', severity: 'high', message: 'contains ".." (onnx and ONNX Runtime refuse it even when it stays inside the model folder)' } };
    }
    // Walk each component with lstat: a symlink anywhere may lead out of the folder.
    let cur = this.graphDir;
    const segs = parts.filter((s) => s !== '' && s !== '.');
    for (const [i, s] of segs.entries()) {
      cur = path.join(cur, s);
      const st = await lstat(cur).catch((err: NodeJS.ErrnoException) => err);
      if (st instanceof Error) {
        if (st.code === 'ENOENT' || st.code === 'ENOTDIR') return { problem: { id: 'onnx.external-data-missing', severity: 'high', message: 'names a file that does not exist in the model folder' } };
        return { problem: { id: 'onnx.external-data-missing', severity: 'high', message: `cannot be read (${st.code ?? st.message})` } };
      }
      const last = i === segs.length - 1;
      if (st.isSymbolicLink()) {
        // Only a link the manifest validated (a snapshot's blob link), and only as the file itself.
        const blob = last ? this.followed.get(cur) : undefined;
        if (!blob) return { problem: { id: 'onnx.external-data-symlink', severity: 'critical', message: `goes through symlink ${path.relative(this.modelDir, cur)}; links may lead anywhere` } };
        const bs = await stat(blob).catch(() => undefined);
        if (!bs?.isFile() || (await realpath(cur).catch(() => '')) !== blob) return { problem: { id: 'onnx.external-data-symlink', severity: 'critical', message: `symlink ${path.relative(this.modelDir, cur)} no longer leads to its validated blob` } };
        return { rel: relToModel.split(path.sep).join('/'), size: bs.size, nlink: bs.nlink };
      }
      if (last && !st.isFile()) return { problem: { id: 'onnx.external-data-not-regular', severity: 'critical', message: 'is not a regular file (a FIFO, device or folder would hang or leak a read)' } };
      if (last) {
        this.realModelDir ??= realpath(this.modelDir).catch(() => this.modelDir);
        const realDir = await this.realModelDir;
        const real = await realpath(cur).catch(() => cur);
        const relReal = path.relative(realDir, real);
        if (relReal.startsWith('..') || path.isAbsolute(relReal)) return escape('resolves outside the model folder');
        return { rel: relToModel.split(path.sep).join('/'), size: st.size, nlink: st.nlink };
      }
    }
    return escape('is empty');
  }
}
