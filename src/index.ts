// The library API: everything the CLI in src/cli does is here, with its types. This file only
// re-exports; test/api.test.ts checks that the names below exist.

export { UserError, isUserError } from './errors.js';
export { VERSION } from './version.js';

// Model folders: layout, loading, inspection.
export { findModelLayout, type ModelLayout } from './model/layout.js';
export { describeModel, loadModel, type LoadedModel, type LoadOptions, type ModelDescription } from './model/load-model.js';
export { inspectModel, type InspectReport } from './model/inspect.js';
export { renderInspect } from './cli/commands/inspect.js';
export { detectIoSignature, type IoSignature } from './model/io-signature.js';
export { readOnnx, type OnnxGraphInfo } from './formats/onnx.js';
export { CausalLM, type Generation, type RunStats, type TeacherForceItem } from './run/causal-lm.js';
export { SequenceClassifier } from './run/classifier.js';

// The scan and the hunt.
export { scanModel, scanShard, SCAN_DEFAULTS, type ScanOptions, type ShardResult } from './pipeline/scan.js';
export { mergeShards, type MergeResult } from './pipeline/merge.js';
export { huntModel, type HuntOptions } from './pipeline/hunt.js';
export { listModels, scanAll, writeSummary, MODELS_SUBDIR, SUMMARY_FILES, type ModelEntry, type ModelEvent, type ScanAllOptions, type ScanAllResult } from './pipeline/scan-all.js';
export { buildSummary, ScanSummarySchema, SUMMARY_SCHEMA, SUMMARY_SCHEMA_VERSION, type ScanSummary, type SummaryModel } from './report/summary.js';
export { renderSummaryHtml, renderSummaryMarkdown } from './report/summary-render.js';
export { diffFails, diffReports, findingKey, renderDiffText, ReportDiffSchema, DIFF_FAIL_ON, type DiffFailOn, type ReportDiff } from './report/diff.js';
export { appendHistory, historyEntry, readHistory, recordHistory, renderHistoryHtml, trendChart, HistoryEntrySchema, HISTORY_FILE, type HistoryEntry } from './report/history.js';

// Probe packs: list, show, validate, community packs from npm, their pins.
export { builtinPacksDir, listBuiltinPacks, listNpmPacks, loadNpmPack, loadPack, loadPacks, mergePacks, npmPackDirs } from './probes/load-pack.js';
export { findNpmPackPackages, readNpmPackPackage, resolveNpmPack, NPM_PACK_PREFIX, type NpmPackPackage } from './probes/npm-packs.js';
export { checkPackPins, commitPackPins, packPinFile, PACK_PIN_STATUSES, type PackPinCheck, type PackPinStatus } from './probes/pack-pins.js';
export { scaffoldPackPackage } from './probes/scaffold.js';
export type { LoadedPack, PackSet } from './probes/types.js';
export { compileDetectors, runDetectors, isHarmful, type CompiledDetectors, type DetectorHit } from './probes/detect.js';

// report.json: the contract, loading (with migrations) and every renderer.
export {
  REPORT_SCHEMA,
  REPORT_SCHEMA_VERSION,
  ScanReportSchema,
  type CompactTest,
  type FileFinding,
  type FindingDiscovery,
  type Provenance,
  type ReportDiscovery,
  type ReportFinding,
  type ScanReport,
  type VerdictLevel,
} from './report/schema.js';
export { compactTest, reportFinding, type RowOrigin } from './report/rows.js';
export { loadReport, loadReportDetailed, MIGRATIONS, upgradeReport, type LoadedReport, type Migration } from './report/load-report.js';
export { visible } from './report/common.js';
export { provenanceItems, attestationHeadline, attestationLines, policyItem, signerState, trustRootLine, type ProvenanceItem } from './report/provenance-text.js';
export { renderMarkdown } from './report/markdown.js';
export { renderHtml } from './report/html.js';
export { renderSarif } from './report/sarif.js';
export { renderJunit, type JunitOptions } from './report/junit.js';
export { DEFAULT_FORMATS, FILE_NAMES, FORMATS, parseFormats, renderAll, renderFormat, type Format } from './report/render.js';
export { makeFolder, prepareOutputFolder, removeStaleTemporaries, writeAtomic, type OutputFolder } from './report/output-folder.js';
export { writeReports } from './report/write-reports.js';

// File safety and provenance: verify, pins.
export { auditBeforeLoad, auditModelFolder, type AuditFolderOptions, type FolderAudit } from './provenance/audit-folder.js';
export { verifyModel, verifyReport, VerifyReportSchema, VERIFY_SCHEMA, VERIFY_SCHEMA_VERSION, type VerifyOptions, type VerifyReport } from './report/verify-report.js';
export { checkPins, commitPin, defaultPinFile, listPins, pinModelFolder, readPins, revokePin, updatePin, PIN_MODES, type PinCheck, type PinEntry, type PinMode, type PinRecord } from './provenance/integrity/pins.js';
export { buildManifest, MODEL_SIGNING_IGNORE, type Manifest } from './provenance/integrity/manifest.js';
// Keyless signatures, training provenance, trust policy, Hugging Face cache snapshots.
export { verifyKeylessBundle, compileIdentity, checkIdentity, type IdentityPolicy, type KeylessResult } from './provenance/integrity/sigstore-keyless.js';
export { loadTrustRoot, BUNDLED_TRUST_ROOT, type TrustRoot, type TrustRootInfo } from './provenance/integrity/trust-root.js';
export { checkTrainingProvenance, describePredicate, SLSA_PROVENANCE_V1, type ProvenanceOptions, type TrainingProvenanceCheck, type ProvenanceAttestation } from './provenance/integrity/training-provenance.js';
export { loadTrustPolicy, resolvePolicy, evaluatePolicy, TrustPolicySchema, type TrustPolicy, type ResolvedPolicy, type PolicyOutcome } from './provenance/trust-policy.js';
export { detectHfSnapshot, snapshotPinName, type HfSnapshot } from './provenance/integrity/hf-cache.js';

// Attestations of scan results.
export { attestReport, checkSigningKey, verifyAttestation, type AttestationVerification, type AttestReportInput, type VerifyAttestationInput } from './attest/attestation.js';
export { TEST_RESULT_PREDICATE, TestResultStatementSchema, type TestResultLevel, type TestResultStatement } from './attest/statement.js';

// The CLI's exit-code rule, for wrappers that run scans themselves.
export { combinedExitCode, EXIT, exitCodeFor, FAIL_ON, type FailOn } from './exit-codes.js';

// Nightly jobs: results log, lock, memory pre-check.
export { readResultsLog, ResultsLogWriter, RESULTS_LOG, type HeaderRecord, type LogContents } from './jobs/results-log.js';
export { acquireLock, LOCK_FILE, type FolderLock } from './jobs/lock.js';
export { checkMemory, estimateMemory, memoryLimit, parseSize, type MemoryCheck, type MemoryEstimate, type MemoryLimit } from './run/memory.js';

// The stages every command composes, for callers that want one of them alone.
export { prepare, auditGate, type Prepared, type PrepareOptions } from './pipeline/prepare.js';
export { planUnits, shardUnits, valueOrder, completeTests, screeningUnits, continuationUnits, type Shard, type WorkUnit } from './plan/units.js';
export { executeUnits, type ExecuteJob, type Executed, type NextStage, type UnitResult } from './pipeline/execute.js';
export { effectiveScreen, finishReport, scoreState, scoreUnits, scoringInputs, unitStages, type Scored, type ScoringInputs } from './pipeline/finish.js';
export { scanIdentity, scanState, workHash, type ScanState } from './pipeline/state.js';
export { planTests, testTriggers, testSettings, type TestSettings, type Tested } from './pipeline/scan.js';
export { TASKS, taskProfile, type TaskProfile } from './run/tasks.js';
export type { ModelRunner, Execution, RunSession, CleanReferences, EngineSwitches } from './run/runner.js';
export { executePlan } from './run/runner.js';
export { discoverTriggers, DISCOVER_DEFAULTS, type Discovery, type DiscoverOptions } from './discover/discover.js';
export { DISCOVERY_DEFAULTS, runDiscovery, type DiscoveryOptions } from './pipeline/discovery.js';
export { invertTargets, type InvertedTarget } from './discover/inversion.js';
export { reconstructAt, targetScorer, searchSize, RECONSTRUCT_DEFAULTS, type Reconstructed, type SearchSize } from './discover/reconstruct.js';
export { scoreTests, selectFindings, selectSteering, type TestResult } from './score/score-tests.js';
export { classifyEvidence, type Evidence, type EvidenceKind } from './score/evidence.js';
export { levelOf, modelVerdict, type Level, type ModelVerdict } from './score/verdict.js';
