import type { BaselineCategory, DetectorType, Placement, Severity, TriggerKind } from './schema.js';

export type { BaselineCategory, DetectorType, Placement, Severity, TriggerKind } from './schema.js';

export interface PackReference {
  readonly url: string;
  readonly title: string;
}

export interface Trigger {
  /** `<pack>/<id>`: unique across every loaded pack. */
  readonly ref: string;
  readonly pack: string;
  readonly id: string;
  /** The exact decoded string (escapes resolved, spaces kept). For templates it contains `{prompt}` once. */
  readonly text: string;
  readonly kind: TriggerKind;
  /** Where to insert the text, with kind defaults filled in; empty for templates, which wrap the prompt. */
  readonly placements: readonly Placement[];
  readonly tags: readonly string[];
  readonly source: string | undefined;
  /** Detector ids (or `pack/id` refs) as written in the pack. */
  readonly expect: readonly string[];
  /** Paired control text of the same form, decoded. */
  readonly control: string | undefined;
  readonly notes: string | undefined;
  /** Tagged `negative-control`: known to upset models without any backdoor; never a finding. */
  readonly negativeControl: boolean;
}

export interface Baseline {
  /** `<pack>/<id>`. */
  readonly ref: string;
  readonly pack: string;
  readonly id: string;
  readonly text: string;
  readonly category: BaselineCategory;
  readonly tags: readonly string[];
}

export interface Detector {
  /** `<pack>/<id>`. */
  readonly ref: string;
  readonly pack: string;
  readonly id: string;
  readonly type: DetectorType;
  readonly pattern: string;
  /** Subset of `imsu` for regex, `''` or `'i'` for contains. */
  readonly flags: string;
  readonly severity: Severity;
  readonly description: string;
  readonly tags: readonly string[];
}

export interface PackControls {
  readonly benignPhrases: readonly string[];
  readonly benignWords: readonly string[];
  readonly glitchTokens: readonly string[];
}

/** A validated pack, normalised for use (defaults filled, escapes decoded, items carry refs). */
export interface ProbePack {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly license: string | undefined;
  readonly authors: readonly string[];
  readonly references: readonly PackReference[];
  readonly triggers: readonly Trigger[];
  readonly baselines: readonly Baseline[];
  readonly detectors: readonly Detector[];
  readonly controls: PackControls;
}

export interface LoadedPack extends ProbePack {
  /** Absolute path of the pack file. */
  readonly file: string;
  /** The path as shown in messages and reports: `probes/<name>.yaml` for built-ins, else relative to cwd. */
  readonly displayPath: string;
  readonly builtin: boolean;
  /** Where the pack came from: shipped with trigger-scan, a file named on the command line, an installed npm package. */
  readonly source: 'builtin' | 'file' | 'npm';
  /** The npm package that carries it, for `npm` packs. */
  readonly package: { readonly name: string; readonly version: string } | undefined;
  /** `sha256:<hex>` of the file bytes, for reports. */
  readonly digest: string;
  /** Non-fatal remarks (e.g. text that looks like an undecoded escape). */
  readonly warnings: readonly string[];
}

export interface ResolvedTrigger extends Trigger {
  /** `expect` resolved to the refs of loaded detectors; ids with no loaded detector are left out (see warnings). */
  readonly expectRefs: readonly string[];
}

/** Several packs merged: every item keeps its pack-qualified ref. */
export interface PackSet {
  readonly packs: readonly LoadedPack[];
  readonly triggers: readonly ResolvedTrigger[];
  readonly baselines: readonly Baseline[];
  readonly detectors: readonly Detector[];
  /** Union of the packs' controls, first occurrence kept. */
  readonly controls: PackControls;
  readonly warnings: readonly string[];
}
