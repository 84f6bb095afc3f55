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
