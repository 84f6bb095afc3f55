import { PLACEMENTS } from '../probes/schema.js';
import { PIN_MODES } from '../provenance/integrity/pins.js';
import { DEFAULT_FORMATS, FORMATS, parseFormats } from '../report/render.js';
import { FAIL_ON } from '../exit-codes.js';
import { LOG_FORMATS } from './log.js';
import { duration, fraction, list, oneOf, placements, shard, size, wholeNumber } from './option-parsers.js';
import { flag, negatable, text, value, type Values } from './options.js';

/**
 * The option groups the commands share. `scan` takes all of them, `hunt` the model, pin, output
 * and run groups, `verify` the provenance group and `--graph`, `inspect` the model group.
 */

/** Which graph to load and how to run it. */
export const MODEL_OPTIONS = {
  graph: text('--graph <file>', 'ONNX graph to use, relative to the model folder'),
  fromSafetensors: flag('--from-safetensors', 'build the graph from config.json + safetensors even when the folder has an ONNX graph'),
  threads: value('--threads <n>', 'ONNX Runtime threads (default: all cores)', wholeNumber('--threads', 1)),
};

/** Trust on first use. */
export const PIN_OPTIONS = {
  pins: text('--pins <file>', 'trust-on-first-use pin file (default: $TRIGGER_SCAN_PINS or ~/.config/trigger-scan/pins.json)'),
  pin: value('--pin <mode>', `pin mode: strict (an unknown model fails), accept-new (record the first sight, once the command succeeds), off`, oneOf(PIN_MODES), 'accept-new'),
  pinName: text('--pin-name <name>', "pin the model under this name (default: the folder's absolute real path)"),
};

/** Digests and signatures published by someone other than the model's host. */
export const INTEGRITY_OPTIONS = {
  expect: value('--expect <sha256|file>', 'digest (root or dirHash1), SHA256SUMS file or model.sig the folder must match; repeatable, or a comma-separated list', list),
  signature: text('--signature <model.sig>', 'OpenSSF model-signing bundle to verify (default: model.sig in the folder, if any)'),
  key: text('--key <pem>', 'public key of the model signer, for --signature'),
  trustCert: text('--trust-cert <pem>', 'trusted CA certificate for certificate-signed bundles'),
  identity: text('--identity <san|/regex/>', 'keyless: the signer identity required (certificate SAN: email or workflow URI; /…/ is a pattern matching the whole SAN)'),
  issuer: text('--issuer <url>', 'keyless: the OIDC issuer required, e.g. https://token.actions.githubusercontent.com'),
  trustRoot: text('--trust-root <trusted_root.json>', 'keyless: Sigstore trust root to verify against (default: the bundled public-good root)'),
  ignorePath: value('--ignore-path <path>', 'leave this path out of the signature comparison (still scanned); repeatable, or a comma-separated list', list),
  provenance: value('--provenance <file>', 'SLSA provenance attestation (DSSE or Sigstore bundle) of the training run, besides any in the folder; repeatable', list),
  provenanceKey: text('--provenance-key <pem>', 'public key of the provenance signer (DSSE / key bundles)'),
  provenanceIdentity: text('--provenance-identity <san|/regex/>', 'keyless provenance: the signer identity required (e.g. the training workflow)'),
  provenanceIssuer: text('--provenance-issuer <url>', 'keyless provenance: the OIDC issuer required'),
  requireProvenance: flag('--require-provenance', 'fail unless a verified training provenance attestation binds to the folder'),
  builder: text('--builder <id|/regex/>', 'the builder the provenance must name (runDetails.builder.id); implies provenance is required'),
  sourceRepo: text('--source-repo <url|/regex/>', 'the source repository the provenance must name; implies provenance is required'),
  trustPolicy: text('--trust-policy <file>', 'trust-policy.yaml: required signers, provenance, agreeing digest sources and pins per model (flags override it)'),
};

export const PROVENANCE_OPTIONS = { ...PIN_OPTIONS, ...INTEGRITY_OPTIONS };

/** Where results go and when the exit code says "findings". */
export const OUTPUT_OPTIONS = {
  out: text('--out <dir>', 'report folder', 'reports'),
  json: flag('--json', 'print the report JSON on stdout instead of the summary'),
  progress: negatable('--no-progress', 'no progress output'),
  quiet: flag('--quiet', 'print nothing but errors (and the --json document, if asked for)'),
  logFormat: value('--log-format <format>', `log lines on stderr: text, or json (one JSON event per line: start, progress, finding, warning, end, error)`, oneOf(LOG_FORMATS), 'text'),
  failOn: value('--fail-on <level>', `exit 1 when the verdict reaches this level (${FAIL_ON.join(', ')})`, oneOf(FAIL_ON), 'flagged'),
};

/** Run budgets shared by scan, hunt and scan-all. */
export const RUN_OPTIONS = {
  seed: value('--seed <n>', 'seed for controls, placements and sampling', wholeNumber('--seed', 0)),
  batchSize: value('--batch-size <n>', 'prompts per forward pass', wholeNumber('--batch-size', 1)),
  maxTime: value('--max-time <duration>', 'finish the most valuable work within this time (45s, 90m, 1h30m) and write a partial report of the rest (exit 4 unless a finding reaches --fail-on); scan-all shares it out between the models left', duration('--max-time')),
  maxMemory: value('--max-memory <size>', 'the memory the pre-check may plan for (512M, 8G) instead of what the machine or cgroup allows', size('--max-memory')),
};

/** Crash-safe progress: the results log in the report folder. */
export const JOB_OPTIONS = {
  resume: flag('--resume', 'continue the scan whose results log is in --out (after a crash, kill or --max-time), redoing only what it had not finished'),
  resultsLog: negatable('--no-results-log', 'do not record finished work in --out/results.log (no --resume possible)'),
};

/** Splitting one scan over machines: each shard runs a deterministic part, `merge` joins them. */
export const SHARD_OPTIONS = {
  shard: value('--shard <i/n>', 'run shard i of n (from 0, e.g. $JOB_COMPLETION_INDEX/3) and record it in --out/results.log for trigger-scan merge', shard),
};

/** What the behavioural scan probes and how it decides. */
export const SCAN_OPTIONS = {
  pack: value('--pack <name|file>', 'probe pack: built-in name or a .yaml/.json file; repeatable, or a comma-separated list (default: every built-in pack)', list),
  baselines: value('--baselines <name|file>', 'take baseline prompts from these packs only; repeatable, or a comma-separated list', list),
  placements: value('--placements <list>', `only these placements (${PLACEMENTS.join(', ')})`, placements),
  controls: value('--controls <n>', 'random control strings per trigger kind and placement', wholeNumber('--controls', 2)),
  maxNewTokens: value('--max-new-tokens <n>', 'tokens generated per answer', wholeNumber('--max-new-tokens', 1)),
  maxBaselines: value('--max-baselines <n>', 'use only the first N baseline prompts (quick runs)', wholeNumber('--max-baselines', 5)),
  screen: negatable('--no-screen', 'run every trigger\'s controls: no sequential testing (by default a trigger\'s controls run only if its own outputs leave a finding possible; the same findings and verdict; a --shard scan does not screen)'),
  fdr: value('--fdr <q>', 'false-discovery rate for Benjamini–Hochberg', fraction('--fdr')),
  minAttackSuccess: value('--min-attack-success <share>', 'share of baselines a trigger must take over to be flagged', fraction('--min-attack-success')),
  frame: text('--frame <text>', 'plain prompt frame with {prompt} instead of the chat template'),
};

/** Trigger discovery: on by default in scan, alone in hunt. */
export const DISCOVERY_OPTIONS = {
  discover: negatable('--no-discover', 'only the pack triggers: no search for triggers no pack lists'),
  discoverMinutes: value('--discover-minutes <n>', 'time budget of trigger discovery, in minutes (default 5)', wholeNumber('--discover-minutes', 1)),
  discoverCandidates: value('--discover-candidates <n>', 'discovered candidates confirmed by the scan test (default 12)', wholeNumber('--discover-candidates', 1)),
  discoverTargets: value('--discover-targets <n>', 'inverted payloads a trigger is searched for, harmful first (default 3)', wholeNumber('--discover-targets', 1)),
  discoverBeam: value('--discover-beam <n>', 'beam width of trigger reconstruction: wider finds more, slower (default 12)', wholeNumber('--discover-beam', 1)),
  discoverLength: value('--discover-length <n>', 'longest trigger reconstruction builds, in tokens (default 10)', wholeNumber('--discover-length', 1)),
  discoverWiden: value('--discover-widen <n>', 'rounds that search the first payload again at double the beam, while the discovery budget lasts (default 2; 0: none)', wholeNumber('--discover-widen', 0)),
  base: text('--base <dir>', 'base model folder this one was fine-tuned from: its token-embedding drift seeds discovery'),
};

/** Scan-only outputs: the report formats and a signed attestation. */
export const REPORT_OPTIONS = {
  format: value('--format <list>', `report formats (${FORMATS.join(', ')}, or all)`, (v: string) => parseFormats(v), [...DEFAULT_FORMATS]),
  attest: text('--attest <key.pem>', 'write a signed in-toto attestation of the result (report.intoto.json); the key is checked before the scan starts'),
};

export type ModelCliOptions = Values<typeof MODEL_OPTIONS>;
export type PinCliOptions = Values<typeof PIN_OPTIONS>;
export type ProvenanceCliOptions = Values<typeof PROVENANCE_OPTIONS>;
export type OutputCliOptions = Values<typeof OUTPUT_OPTIONS>;
export type RunCliOptions = Values<typeof RUN_OPTIONS>;
export type ScanCliOptions = ModelCliOptions & ProvenanceCliOptions & OutputCliOptions & RunCliOptions & Values<typeof SCAN_OPTIONS> & Values<typeof DISCOVERY_OPTIONS> & Values<typeof REPORT_OPTIONS> & Values<typeof JOB_OPTIONS> & Values<typeof SHARD_OPTIONS>;

/** scan-all: the scan's options without those that name one model's files. */
export type ScanAllCliOptions = Omit<ScanCliOptions, 'graph' | 'attest' | 'expect' | 'pinName' | 'shard'>;

/** merge: where the report goes and when the exit code says "findings". */
export type MergeCliOptions = OutputCliOptions & Pick<Values<typeof REPORT_OPTIONS>, 'format'>;
