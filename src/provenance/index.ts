/** Public API of the provenance checks: what is in the model folder, and what its files would do. */
export { SEVERITIES, finding, severityRank, worstSeverity } from './finding.js';
export type { Finding, Severity } from './finding.js';

export { MODEL_SIGNING_IGNORE, buildManifest, comparePosixPaths } from './manifest.js';
export type { Manifest, ManifestEntry, ManifestOptions } from './manifest.js';

export { SAFETENSORS_DEFAULTS, inspectSafetensors, inspectSafetensorsBytes, openSafetensors } from './safetensors.js';
export type { OpenSafetensorsOptions, SafetensorsFile, SafetensorsInspection, SafetensorsOptions, TensorInfo } from './safetensors.js';
export { checkSafetensorsIndex, isPlainShardName } from './safetensors-index.js';
export type { SafetensorsIndexOptions, SafetensorsIndexReport } from './safetensors-index.js';
export { DTYPE_BITS, decodeTensor, isDecodable } from './dtypes.js';
export type { TensorData } from './dtypes.js';

export { PICKLE_EXTENSIONS, isPickleCandidate, scanModelPickles, scanPickleBytes, scanPickleFile } from './pickle-scan.js';
export type { ModelPickleReport, PickleScanOptions, PickleScanReport, ScannedGlobal } from './pickle-scan.js';
export { SAFE_GLOBALS, classifyGlobal } from './pickle-policy.js';
export type { GlobalVerdict } from './pickle-policy.js';
export { walkPickle } from './pickle-walk.js';
export type { PickleGlobal, PickleWalkOptions, PickleWalkResult } from './pickle-walk.js';

export { auditTokenizer, triggerShape } from './tokenizer-audit.js';
export type { TokenizerAudit, TokenizerAuditOptions } from './tokenizer-audit.js';

export { parseStrictJson } from './strict-json.js';
export type { JsonObject, JsonValue, StrictJsonResult } from './strict-json.js';

export { IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_V1, SIGSTORE_BUNDLE_V03, keyHint, preAuthEncoding, signEnvelope } from './dsse.js';
export type { DsseEnvelope, DsseSignature, SigningAlgorithm } from './dsse.js';

export { PIN_FILE_VERSION, PIN_MODES, checkPins, defaultPinFile, defaultPinName, diffFiles, formatPinMismatch, listPins, readPins, revokePin, summariseDiff, updatePin, writePins } from './pins.js';
export type { PinCheck, PinDiff, PinEntry, PinMode, PinOptions, PinRecord, PinStatus, PinTable } from './pins.js';

export { checkExpectations, parseSha256Sums } from './expect.js';
export type { ExpectationKind, ExpectationProblem, ExpectationResult } from './expect.js';

export {
  MODEL_SIGNING_DEFAULT_IGNORES,
  MODEL_SIGNING_PREDICATE_COMPAT,
  MODEL_SIGNING_PREDICATE_V1,
  absentSignature,
  compareSignedResources,
  parseCertificates,
  parseModelSigningStatement,
  parseSignatureBundle,
  rootOf,
  verifyModelSignature,
} from './model-signing.js';
export type { ModelSigningStatement, ResourceDiff, SignatureCheck, SignatureMethod, SignatureStatus, SignedResource, VerificationMaterial, VerifySignatureOptions } from './model-signing.js';

export { REPORT_ANNOTATION, TEST_RESULT_PREDICATE, attestReport, verifyAttestation } from './attestation.js';
export type { AttestReportInput, AttestationVerification, TestResultLevel, VerifyAttestationInput } from './attestation.js';

export { BLOCKING_ONNX_FINDINGS, KNOWN_DOMAINS, auditOnnx, auditOnnxBytes } from './onnx-audit.js';
export type { OnnxAudit, OnnxAuditOptions } from './onnx-audit.js';
export { findInputConditionedBranches } from './onnx-backdoor.js';
export type { BackdoorOptions } from './onnx-backdoor.js';

export { auditModelFolder } from './audit-folder.js';
export type { AuditFolderOptions, FolderAudit } from './audit-folder.js';
