export {
  BASELINE_CATEGORIES,
  DEFAULT_PLACEMENTS,
  DETECTOR_TYPES,
  NEGATIVE_CONTROL_TAG,
  PackFileSchema,
  PLACEMENTS,
  PROMPT_PLACEHOLDER,
  REGEX_FLAGS,
  SEVERITIES,
  TRIGGER_KINDS,
} from './schema.js';
export type { PackFileData, PackFileInput } from './schema.js';
export type {
  Baseline,
  BaselineCategory,
  Detector,
  DetectorType,
  LoadedPack,
  PackControls,
  PackReference,
  PackSet,
  Placement,
  ProbePack,
  ResolvedTrigger,
  Severity,
  Trigger,
  TriggerKind,
} from './types.js';
export { decodeEscapes } from './escapes.js';
export { formatPath, MAX_PACK_BYTES, parsePackSource } from './parse-pack.js';
export type { ParsedPack, ParseOptions } from './parse-pack.js';
export { builtinPacksDir, listBuiltinPacks, loadPack, loadPacks, mergePacks, packageRoot } from './load-pack.js';
export type { LoadOptions } from './load-pack.js';
export { compareSeverity, compileDetectors, runDetectors, worstHit } from './detect.js';
export type { CompiledDetectors, DetectorHit, DetectorSpec } from './detect.js';
export { probePackJsonSchema, renderProbePackJsonSchema } from './json-schema.js';
