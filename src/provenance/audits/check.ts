import type { Finding } from '../../formats/finding.js';
import type { Manifest } from '../integrity/manifest.js';
import type { OnnxAudit } from './onnx-audit.js';

/**
 * The contract of one content audit of a model folder. `auditModelFolder` runs every check of the
 * registry (registry.ts) over one shared context; a check reads files only through the context's
 * list (the manifest: no special files, no symlinks but a snapshot's validated blob links) and reports findings, never throws for bad
 * input.
 */
export interface FolderCheck {
  /** Stable id of the check, e.g. `pickle`; its findings use ids `<area>.<rule>`. */
  id: string;
  /** The finding-id prefix the check reports under (several checks may share one). */
  area: string;
  run(ctx: AuditContext): Promise<Finding[]>;
}

/** Facts several checks need, computed once per audit and shared (memoised by the context). */
export interface AuditContext {
  dir: string;
  manifest: Manifest;
  /** POSIX paths relative to `dir`, from the manifest. */
  files: readonly string[];
  abs(rel: string): string;
  /** Symlinks the manifest validated (absolute link → real blob path): a Hugging Face snapshot's. */
  followedLinks: ReadonlyMap<string, string>;
  /** The graph the caller will load (relative), or the preferred one; undefined when none. */
  mainGraph: string | undefined;
  /** Every ONNX graph to audit (relative), the main graph included. */
  graphs: readonly string[];
  /** config.json and generation_config.json, parsed, with their read problems as findings. */
  configs(): Promise<{ values: unknown[]; findings: Finding[] }>;
  /** tokenizer.json as the tokenizer library reads it, when present. */
  tokenizer(): Promise<{ rel: string; value?: unknown; texts: Map<number, string>; findings: Finding[] } | undefined>;
  /** The ONNX audit of every graph, in `graphs` order. */
  onnxAudits(): Promise<OnnxAudit[]>;
}
