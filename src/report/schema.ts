import type { TestResult } from '../score/score-tests.js';

/**
 * report.json is a public contract: CI jobs and other tools parse it. Bump the version on any
 * change that removes or renames a field or changes its meaning; adding a field is compatible.
 */
export const REPORT_SCHEMA = 'trigger-scan/report';
export const REPORT_SCHEMA_VERSION = 1;

export type VerdictLevel = 'flagged' | 'suspicious' | 'clean';

export interface ReportFile {
  path: string;
  size: number;
  sha256: string;
}

export interface CompactTest {
  key: string;
  trigger: string;
  placement: string;
  category: string | null;
  exceedances: number;
  baselines: number;
  t: number;
  pValue: number;
  qValue: number;
  attackSuccess: number;
  meanDivergence: number;
  controlMeanDivergence: number;
  level: TestResult['level'];
}

export interface ScanReport {
  schema: typeof REPORT_SCHEMA;
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  tool: { name: 'trigger-scan'; version: string };
  /** The only fields that change between identical runs. */
  run: { startedAt: string; finishedAt: string; durationMs: number };
  model: {
    dir: string;
    graph: string;
    layout: string;
    task: string;
    modelType: string | null;
    architectures: string[];
    promptFormat: string;
    rootDigest: string;
    directoryDigest: string;
    files: ReportFile[];
  };
  packs: { name: string; version: string; builtin: boolean; path: string; digest: string; triggers: number; baselines: number; detectors: number }[];
  settings: {
    seed: number;
    controls: number;
    placements: string[] | null;
    maxNewTokens: number;
    fdr: number;
    minAttackSuccess: number;
    minCategorySize: number;
    batchSize: number;
    threads: number;
  };
  method: Record<string, string>;
  stats: { baselines: number; tests: number; rows: number; probes: number; forwardPasses: number; tokensIn: number };
  verdict: { level: VerdictLevel; summary: string; flagged: number; suspicious: number };
  /** Trust-on-first-use pin, independent digests and signature checks, as run before the scan. */
  provenance: {
    pin: { status: string; name: string };
    expectations: { source: string; ok: boolean; message: string }[];
    signature: { status: string; method: string; file: string; reasons: string[] };
  };
  /** Hardened file checks (safetensors, ONNX, pickles, tokenizer), worst first. */
  fileFindings: { id: string; severity: string; file: string; message: string }[];
  findings: TestResult[];
  tests: CompactTest[];
  clean: { baseline: string; category: string; prompt: string; output: string }[];
  controlGroups: { key: string; placement: string; examples: string[] }[];
  warnings: string[];
}
