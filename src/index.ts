// The library API; the CLI in src/cli is a thin shell over these.
export { UserError, isUserError } from './errors.js';
export { findModelLayout, type ModelLayout } from './model/layout.js';
export { describeModel, loadModel, type LoadedModel, type LoadOptions, type ModelDescription } from './model/load-model.js';
export { inspectModel, type InspectReport } from './model/inspect.js';
export { detectIoSignature, type IoSignature } from './model/io-signature.js';
export { CausalLM, type Generation, type RunStats, type TeacherForceItem } from './run/causal-lm.js';
export { SequenceClassifier } from './run/classifier.js';
export { scanModel, SCAN_DEFAULTS, type ScanOptions } from './pipeline/scan.js';
export { REPORT_SCHEMA, REPORT_SCHEMA_VERSION, type ScanReport } from './report/schema.js';
export { renderMarkdown } from './report/markdown.js';
export { writeReports } from './report/write-reports.js';
export { readOnnx, type OnnxGraphInfo } from './formats/onnx.js';
export { renderAll, parseFormats, FORMATS, type Format } from './report/render.js';
export { loadReport } from './report/load-report.js';
export { huntModel, type HuntOptions } from './pipeline/hunt.js';
export { auditModelFolder, type FolderAudit } from './provenance/audit-folder.js';
// The stages every command composes, for callers that want one of them alone.
export { prepare, auditGate, type Prepared, type PrepareOptions } from './pipeline/prepare.js';
export { testTriggers, testSettings, type TestSettings, type Tested } from './pipeline/scan.js';
export { TASKS, taskProfile, type TaskProfile } from './run/tasks.js';
export type { ModelRunner, Execution } from './run/runner.js';
export { discoverTriggers, DISCOVER_DEFAULTS, type Discovery, type DiscoverOptions } from './discover/discover.js';
export { invertTargets, type InvertedTarget } from './discover/inversion.js';
export { reconstructAt, targetScorer, type Reconstructed } from './discover/reconstruct.js';
export { scoreTests, selectFindings, selectSteering, type TestResult } from './score/score-tests.js';
export { classifyEvidence, type Evidence, type EvidenceKind } from './score/evidence.js';
export { levelOf, modelVerdict, type Level, type ModelVerdict } from './score/verdict.js';
