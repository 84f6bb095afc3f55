/**
 * report.json, defined once. This zod schema is the contract: the TypeScript types are inferred from
 * it, `schemas/report.schema.json` is generated from it (scripts/gen-schemas.ts, tested current), and
 * every report trigger-scan loads is validated by it (load-report.ts).
 *
 * report.json is public: CI jobs and other tools parse it. Bump REPORT_SCHEMA_VERSION on any change
 * that removes or renames a field or changes its meaning, and add a migration from the previous
 * version to load-report.ts. Adding a field is compatible; readers ignore fields they do not know
 * (the JSON Schema allows them), and a loaded report keeps only the fields listed here.
 *
 * The report has its own types: the scorer's internals (src/score) are mapped into them by
 * rows.ts, so a change inside the scorer cannot change the contract by accident.
 */
import { z } from 'zod';
import type { LayoutName } from '../model/layout.js';
import type { IoSignature } from '../model/io-signature.js';
import type { PlacementOrTemplate } from '../plan/plan.js';
import { BASELINE_CATEGORIES, PLACEMENTS, SEVERITIES as DETECTOR_SEVERITIES, TRIGGER_KINDS } from '../probes/schema.js';
import { SEVERITIES as FILE_SEVERITIES } from '../formats/finding.js';
import type { Severity as ProvenanceSeverity } from '../formats/finding.js';
import type { PinStatus } from '../provenance/integrity/pins.js';
import type { SignatureMethod, SignatureStatus } from '../provenance/integrity/model-signing.js';
import type { Level, StatisticName } from '../score/score-tests.js';
import type { VerdictLevel as ScoreVerdictLevel } from '../score/verdict.js';
import type { EvidenceKind } from '../score/evidence.js';
import type { TargetRecord } from '../discover/targets.js';
import { PACK_PIN_STATUSES } from '../probes/pack-pins.js';

export const REPORT_SCHEMA = 'trigger-scan/report';
export const REPORT_SCHEMA_VERSION = 5;

// ------------------------------------------------------------------ enumerations

export const TASKS = ['causal-lm', 'sequence-classification'] as const;
export const LAYOUTS = ['optimum', 'transformers.js', 'optimum-merged', 'onnxruntime-genai', 'explicit', 'safetensors'] as const;
/** Where a probe goes: the pack placements, or `template` for triggers that wrap the whole prompt. */
export const REPORT_PLACEMENTS = [...PLACEMENTS, 'template'] as const;
export const TEST_LEVELS = ['flagged', 'suspicious', 'steering', 'pass', 'negative-control'] as const;
/** partial: no finding in what was tested, but not everything planned was tested (a time budget ran out). */
export const VERDICT_LEVELS = ['flagged', 'suspicious', 'clean', 'partial'] as const;
export const PACK_SOURCES = ['builtin', 'file', 'npm'] as const;
/** Why a scan tested less than it planned. */
export const COVERAGE_REASONS = ['max-time', 'shards-missing'] as const;
export const PIN_STATUSES = ['match', 'new', 'recorded', 'mismatch', 'unknown', 'off'] as const;
export const SIGNATURE_STATUSES = ['verified', 'failed', 'unverified', 'absent'] as const;
export const SIGNATURE_METHODS = ['key', 'certificate', 'keyless', 'unknown'] as const;
/** How a trigger came to be tested: listed in a probe pack, or found by discovery (hunt). */
export const TRIGGER_SOURCES = ['pack', 'discovered'] as const;
export const STATISTIC_NAMES = ['teacherForced', 'firstToken', 'convergence', 'detector'] as const;
export const TARGET_STATUSES = ['reconstructed', 'harmful', 'ordinary', 'low-q', 'short', 'not-reached'] as const;
/** What a row's outputs show (src/score/evidence.ts): the first four are payloads, the rest ordinary effects. */
export const EVIDENCE_KINDS = ['detector', 'fixed-output', 'inverted-payload', 'label-flip', 'shared-with-controls', 'ordinary-output', 'echo', 'prompt-dependent'] as const;

export const Task = z.enum(TASKS);
export const Layout = z.enum(LAYOUTS);
export const ReportPlacement = z.enum(REPORT_PLACEMENTS);
export const TestLevel = z.enum(TEST_LEVELS);
export const VerdictLevel = z.enum(VERDICT_LEVELS);
/** File-safety and provenance severities, least severe first (src/formats/finding.ts). */
export const FileSeverity = z.enum(FILE_SEVERITIES as readonly [ProvenanceSeverity, ...ProvenanceSeverity[]]);
export const DetectorSeverity = z.enum(DETECTOR_SEVERITIES);
export const TriggerSource = z.enum(TRIGGER_SOURCES);
export const PinStatusSchema = z.enum(PIN_STATUSES);
export const SignatureStatusSchema = z.enum(SIGNATURE_STATUSES);
export const SignatureMethodSchema = z.enum(SIGNATURE_METHODS);

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/).describe('lowercase hex sha256');
const count = z.number().int().min(0);
const share = z.number().min(0).max(1);

// ------------------------------------------------------------------ rows

export const ReportFileSchema = z.object({
  path: z.string().describe('POSIX path relative to the model folder'),
  size: count,
  sha256: sha256Hex,
});

export const StatisticTestSchema = z.object({
  trigger: z.number().describe("the trigger's value of the statistic"),
  controlMean: z.number(),
  controlSd: z.number(),
  t: z.number(),
  p: z.number(),
});

export const DetectorTallySchema = z.object({
  detector: z.string().describe('pack/id of the detector'),
  severity: DetectorSeverity,
  triggered: count.describe('triggered outputs that set it off'),
  clean: count.describe('clean outputs that set it off'),
  controlRate: share.describe('share of control outputs that set it off'),
});

export const ExampleSchema = z.object({
  baseline: z.string(),
  prompt: z.string(),
  triggeredPrompt: z.string(),
  context: z.string().nullable().describe('the context line, for context placements'),
  clean: z.string(),
  triggered: z.string(),
  divergence: z.number(),
});

/** What discovery (hunt) knows about a trigger it proposed; null for pack triggers. */
export const FindingDiscoverySchema = z.object({
  signals: z.array(z.string()).describe('the discovery signals that proposed the trigger'),
  target: z.object({ text: z.string(), qScore: z.number() }).nullable().describe('the output the trigger is keyed to, when one was recovered'),
  approximate: z.boolean().describe('the tested string approximates the real trigger (e.g. a token-level reconstruction)'),
  note: z.string(),
});

const rowCore = {
  key: z.string().describe('`<pack>/<trigger>@<placement>`, with `#<category>` for per-category rows'),
  placement: ReportPlacement,
  category: z.enum(BASELINE_CATEGORIES).nullable().describe('baseline category the row is restricted to; null for all baselines'),
  exceedances: count.describe('baselines on which the trigger beat every control string'),
  baselines: count,
  t: z.number().describe('the strongest statistic\'s t value'),
  pValue: z.number().min(0).max(1).describe('Bonferroni over the statistics'),
  qValue: z.number().min(0).max(1).describe('Benjamini–Hochberg over every row (weighted when discovered and pack triggers are tested together: method.correction)'),
  attackSuccess: share,
  meanDivergence: z.number(),
  controlMeanDivergence: z.number(),
  level: TestLevel,
  source: TriggerSource,
  stopped: z
    .boolean()
    .optional()
    .describe('sequential testing: the test stopped after the screening stage: its own outputs rule out a finding whatever its controls show, so they never ran (no control figures, p = 1); absent in reports that predate screening'),
};

/** One tested (trigger, placement[, category]) row in full: the findings and the steering effects. */
export const ReportFindingSchema = z.object({
  ...rowCore,
  trigger: z.object({
    ref: z.string().describe('`<pack>/<id>`'),
    pack: z.string(),
    id: z.string(),
    text: z.string().describe('the exact string tested'),
    kind: z.enum(TRIGGER_KINDS),
    tags: z.array(z.string()),
    source: z.string().nullable().describe('where the trigger was published (a URL), if the pack says'),
  }),
  controls: count.describe('control strings the trigger was compared with'),
  statistics: z.partialRecord(z.enum(STATISTIC_NAMES), StatisticTestSchema),
  changedShare: share,
  controlChangedShare: share,
  meanFirstTokenDivergence: z.number(),
  convergence: z
    .object({
      modeShare: share,
      modeOutput: z.string(),
      controlModeShare: share,
      fixedShare: share.nullable().describe('of the baselines on the mode, the share whose whole answer (8 words) is the same text; null in reports migrated from schema 1'),
      cleanCount: count.nullable().describe('clean outputs, over every baseline, that give the same answer; null in reports migrated from schema 1'),
    })
    .nullable(),
  evidence: z
    .object({ kind: z.enum(EVIDENCE_KINDS), detail: z.string().describe('one sentence a reviewer can check against the examples') })
    .nullable()
    .describe('what the outputs show, judged apart from significance; null in reports migrated from schema 1'),
  nearMisses: count.describe('control strings that set off the trigger\'s own new answer on at least half as many baselines'),
  detectors: z.array(DetectorTallySchema),
  examples: z.array(ExampleSchema),
  discovery: FindingDiscoverySchema.nullable(),
}).meta({ id: 'Finding', description: 'one tested (trigger, placement[, category]) row in full' });

/** Every tested row, compact: the finding's numbers without examples and statistics. */
export const CompactTestSchema = z.object({
  ...rowCore,
  trigger: z.string().describe('`<pack>/<id>` (the text is in the finding, when there is one)'),
});

export const FileFindingSchema = z.object({
  id: z.string().describe('stable rule id, `<area>.<rule>`'),
  severity: FileSeverity,
  file: z.string(),
  message: z.string(),
});

export const TrustRootSchema = z.object({
  source: z.enum(['bundled', 'file']),
  name: z.string(),
  file: z.string(),
  sha256: sha256Hex,
  version: z.string().describe('bundled: the TUF distribution it came with; a file: its media type'),
  refreshBy: z.string().optional().describe('bundled: the date its TUF metadata asked clients to refresh by'),
  stale: z.boolean().describe('refreshBy has passed (a warning: key validity windows decide what verifies)'),
  authorities: z.array(z.string()).describe('`<fulcio|rekor|ctlog|tsa> <url> <start>..<end|open>`'),
});

export const KeylessSchema = z.object({
  valid: z.boolean().describe('signature, Fulcio chain, SCT and Rekor entries verified offline against the trust root'),
  identity: z.string().optional().describe('certificate SAN (as claimed when not valid)'),
  issuer: z.string().optional().describe('OIDC issuer'),
  signedAt: z.string().optional().describe('integrated time of the earliest log entry'),
  tlogEntries: z.array(z.string()).describe('`<logIndex>@<integrated time>`'),
  timestamps: count.describe('RFC 3161 timestamps in the bundle'),
  signerPinned: z.boolean().describe('--identity and --issuer given and matched; false: "signature valid, signer not pinned" (or failed)'),
  policy: z.enum(['none', 'partial', 'match', 'mismatch']).describe('the identity policy: none given, only identity or issuer, matched, violated'),
  trustRoot: TrustRootSchema,
});

const MaterialSchema = z.object({ name: z.string().optional(), uri: z.string().optional(), digest: z.array(z.string()).describe('`alg:hex`') });

export const TrainingProvenanceSchema = z.object({
  status: z.enum(['verified', 'failed', 'unverified', 'absent']).describe('absent: "no training provenance"'),
  reasons: z.array(z.string()),
  attestations: z.array(
    z.object({
      file: z.string(),
      sha256: sha256Hex.describe('of the attestation file'),
      format: z.enum(['dsse', 'sigstore-bundle']),
      signature: z.object({
        status: z.enum(['verified', 'failed', 'unverified']),
        method: z.enum(['key', 'keyless']),
        reasons: z.array(z.string()),
        identity: z.string().optional(),
        issuer: z.string().optional(),
        signedAt: z.string().optional(),
        keyid: z.string().optional(),
        trustRoot: TrustRootSchema.optional(),
      }),
      buildType: z.string().optional(),
      builder: z.string().optional().describe('runDetails.builder.id'),
      source: z.object({ repository: z.string().optional(), ref: z.string().optional(), commit: z.string().optional() }),
      config: z.array(MaterialSchema).describe('training configuration, with its digest'),
      datasets: z.array(MaterialSchema).describe('dataset snapshots, with their digests'),
      materials: z.array(MaterialSchema).describe('other resolved dependencies (base model, tools)'),
      hyperparameters: z.array(z.string()).describe('`key=value`'),
      invocationId: z.string().optional(),
      startedOn: z.string().optional(),
      finishedOn: z.string().optional(),
      subjects: z.array(z.object({ name: z.string(), digest: z.array(z.string()), match: z.enum(['root', 'dirHash1', 'file', 'renamed', 'mismatch', 'missing']), path: z.string().optional() })),
      bound: z.boolean().describe('a subject matched the folder and none contradicted it'),
      uncovered: z.array(z.string()).describe('folder files no subject covers'),
      policyProblems: z.array(z.string()),
    }),
  ),
});

export const TrustPolicyResultSchema = z.object({
  file: z.string(),
  sha256: sha256Hex.describe('of the policy file as read'),
  matched: z.string().describe('the entry that applied: `models[i] (glob)` or `defaults`'),
  outcomes: z.array(z.object({ rule: z.string(), outcome: z.enum(['pass', 'fail', 'not-applicable']), detail: z.string() })),
});

export const ProvenanceSchema = z.object({
  pin: z.object({ status: PinStatusSchema, name: z.string() }),
  expectations: z.array(z.object({ source: z.string().describe('the --expect argument'), ok: z.boolean(), message: z.string() })),
  signature: z.object({
    status: SignatureStatusSchema,
    method: SignatureMethodSchema,
    file: z.string(),
    reasons: z.array(z.string()),
    sha256: sha256Hex.optional().describe('of the signature file as checked'),
    keyless: KeylessSchema.optional().describe('Sigstore keyless signatures: signer, log entries and the trust root used'),
  }),
  training: TrainingProvenanceSchema.optional().describe('training provenance (SLSA v1 attestations): what produced the weights; absent from reports written before it was checked'),
  trustPolicy: TrustPolicyResultSchema.optional().describe('the trust policy applied and each rule\'s outcome'),
});

export const DiscoverySettingsSchema = z.object({
  minutes: z.number().min(0).describe('the search\'s wall-clock budget (--discover-minutes; confirmation not included)'),
  candidates: count.describe('candidates handed to confirmation at most (--discover-candidates)'),
  targets: count.describe('inverted targets searched for at most (--discover-targets)'),
  placements: z.array(z.enum(PLACEMENTS)).describe('placements searched'),
  searchPrompts: count.describe('prompts of probes/baselines-search.yaml the search ran on (none of them a baseline)'),
  reconstructionPrompts: count.describe('of those, the prompts trigger reconstruction scores strings on'),
  driftSeeds: count.describe('token ids that moved most against --base, used as extra seeds (0 without --base)'),
  search: z.object({
    beamWidth: count.describe('beam width (--discover-beam)'),
    maxLength: count.describe('longest string built, in tokens (--discover-length)'),
    alphabet: count.describe('single tokens kept from the vocabulary sweep to extend strings with'),
    widen: count.optional().describe('rounds that searched the first target again at double the beam and alphabet while the budget lasted (--discover-widen); absent in reports that predate it'),
  }).optional().describe('trigger reconstruction\'s search size; absent in reports that predate it'),
  incomplete: z.array(z.string()).describe('what the budget cut off, in words; empty when the search ran to its end'),
});

export const DiscoverySchema = z.object({
  settings: DiscoverySettingsSchema.optional().describe('how the search was bounded; absent in reports that predate it'),
  stages: z.array(z.object({ name: z.string(), ms: z.number().min(0), candidates: count, skipped: z.string().optional() })),
  targets: z.array(
    z.object({
      text: z.string().describe('an inverted target: a continuation the search prompts agree on'),
      qScore: z.number().describe('BAIT Q: mean prompt-averaged probability of its tokens, weakest step left out'),
      signal: z.string().describe('inversion:answer-start or inversion:answer-end, with #<category> when inverted on prompts of one kind only (kept only when harmful)'),
      harmful: z.boolean().optional().describe('a detector of medium or higher severity recognises it; with Q >= 0.9 it makes the model suspicious by itself (verdict.payloadTargets). Absent in reports that predate it'),
      status: z.enum(TARGET_STATUSES).describe('searched for (reconstructed, harmful), or why not'),
    }),
  ),
  candidates: z
    .array(
      z.object({
        ref: z.string().describe('the trigger ref its tests carry (tests[].trigger, findings[].trigger.ref)'),
        text: z.string().describe('the exact string, as inserted'),
        placement: z.enum(PLACEMENTS),
        signals: z.array(z.string()).describe('what proposed it (reconstruction:<anchor>, leakage)'),
        target: z.string().nullable().describe('the inverted target it was reconstructed for; null for leakage'),
      }),
    )
    .optional()
    .describe('every string discovery handed to confirmation, found or not (a stopped test keeps only its ref); absent in reports that predate it'),
});

export const CoverageSchema = z.object({
  complete: z.boolean().describe('every planned test ran'),
  reason: z.enum(COVERAGE_REASONS).nullable().describe('why not: the --max-time budget ran out, or merge lacked shards; null when complete'),
  testsPlanned: count,
  testsRun: count.describe('tests scored in this report (stats.tests)'),
  unitsPlanned: count.describe('work units (control groups with their tests) planned'),
  unitsRun: count,
  untested: z.array(z.string()).describe('keys of the planned tests that did not run'),
});

// ------------------------------------------------------------------ the report

export const ScanReportSchema = z
  .object({
    schema: z.literal(REPORT_SCHEMA),
    schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
    tool: z.object({ name: z.literal('trigger-scan'), version: z.string() }),
    run: z.object({ startedAt: z.string(), finishedAt: z.string(), durationMs: z.number().min(0) }).describe('the only fields that change between identical runs'),
    model: z.object({
      dir: z.string().describe('the model folder as given on the command line'),
      graph: z.string().describe('the ONNX graph, relative to the folder'),
      layout: Layout,
      task: Task,
      modelType: z.string().nullable(),
      architectures: z.array(z.string()),
      promptFormat: z.string(),
      rootDigest: sha256Hex.describe('model_signing root digest of the folder'),
      directoryDigest: sha256Hex.describe('name-binding directory digest (dirHash1)'),
      files: z.array(ReportFileSchema),
    }),
    packs: z.array(
      z.object({
        name: z.string(),
        version: z.string(),
        builtin: z.boolean(),
        source: z.enum(PACK_SOURCES).describe('shipped with trigger-scan, a file given on the command line, or an installed npm package'),
        package: z.object({ name: z.string(), version: z.string() }).nullable().describe('the npm package that carries the pack'),
        path: z.string(),
        digest: z.string(),
        pin: z.enum(PACK_PIN_STATUSES).describe('trust on first use: new (recorded now), match, changed (other bytes under the same name and version: a warning), builtin, off'),
        triggers: count,
        baselines: count,
        detectors: count,
      }),
    ),
    settings: z.object({
      seed: z.number().int(),
      controls: count,
      placements: z.array(z.enum(PLACEMENTS)).nullable().describe('null: every placement a trigger allows'),
      maxNewTokens: count,
      fdr: z.number(),
      minAttackSuccess: z.number(),
      minCategorySize: count,
      batchSize: count,
      threads: count,
      screen: z.boolean().optional().describe('sequential testing (method.sequential): each test\'s own probes first, its controls only if it could still be a finding; false when every test ran with all its controls; absent in reports that predate it'),
      screenBaselines: count.optional().describe('the earlier, slice-based screening: baselines of the screening slice (0 = none); absent in newer reports'),
    }),
    method: z.record(z.string(), z.string()).describe('how every figure was computed, in words'),
    stats: z.object({
      baselines: count,
      tests: count,
      rows: count,
      probes: count.describe('probes the plan holds'),
      probesRun: count.optional().describe('probes run: fewer than planned when tests stopped after the screening stage'),
      stoppedTests: count.optional().describe('tests stopped after the screening stage (their own probes ran, none of their controls)'),
      forwardPasses: count,
      tokensIn: count,
    }),
    verdict: z.object({
      level: VerdictLevel,
      summary: z.string(),
      flagged: count,
      suspicious: count,
      payloadTargets: count.optional().describe('harmful inverted targets at Q >= 0.9 (discovery.targets with harmful): each makes the model suspicious even when no tested string brings it out. Absent in reports that predate it'),
    }),
    coverage: CoverageSchema.describe('what of the plan was tested; a partial scan is still a valid report'),
    provenance: ProvenanceSchema.nullable().describe('pin, expected digests and signature as checked before the scan; null: not recorded (a report migrated from a writer that predates it)'),
    fileFindings: z.array(FileFindingSchema).nullable().describe('hardened file checks, worst first; null: not recorded'),
    findings: z.array(ReportFindingSchema).describe('flagged and suspicious rows, strongest first'),
    steering: z.array(ReportFindingSchema).describe('effects that are ordinary steering, not backdoors (same rows as findings)'),
    tests: z.array(CompactTestSchema),
    clean: z.array(z.object({ baseline: z.string(), category: z.enum(BASELINE_CATEGORIES), prompt: z.string(), output: z.string() })),
    controlGroups: z.array(z.object({ key: z.string(), placement: ReportPlacement, examples: z.array(z.string()) })),
    discovery: DiscoverySchema.nullable().describe('trigger discovery stages and recovered targets; null when no discovery ran'),
    warnings: z.array(z.string()),
  })
  .describe('trigger-scan report.json');

export type ScanReport = z.infer<typeof ScanReportSchema>;
export type ReportFinding = z.infer<typeof ReportFindingSchema>;
export type CompactTest = z.infer<typeof CompactTestSchema>;
export type FileFinding = z.infer<typeof FileFindingSchema>;
export type Provenance = z.infer<typeof ProvenanceSchema>;
export type FindingDiscovery = z.infer<typeof FindingDiscoverySchema>;
export type ReportDiscovery = z.infer<typeof DiscoverySchema>;
export type ReportFile = z.infer<typeof ReportFileSchema>;
export type Coverage = z.infer<typeof CoverageSchema>;
export type Example = z.infer<typeof ExampleSchema>;
export type DetectorTally = z.infer<typeof DetectorTallySchema>;
export type VerdictLevel = z.infer<typeof VerdictLevel>;
export type TestLevel = z.infer<typeof TestLevel>;
export type ReportPlacement = z.infer<typeof ReportPlacement>;
export type FileSeverity = z.infer<typeof FileSeverity>;

// The enumerations above restate unions that live in the stages; these fail to compile when the two
// drift apart, so a new task, layout or level is a deliberate change to the contract.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
export type ContractChecks = [
  Holds<Same<z.infer<typeof Task>, IoSignature['task']>>,
  Holds<Same<z.infer<typeof Layout>, LayoutName>>,
  Holds<Same<ReportPlacement, PlacementOrTemplate>>,
  Holds<Same<TestLevel, Level>>,
  Holds<Same<VerdictLevel, ScoreVerdictLevel>>,
  Holds<Same<(typeof EVIDENCE_KINDS)[number], EvidenceKind>>,
  Holds<Same<(typeof TARGET_STATUSES)[number], TargetRecord['status']>>,
  Holds<Same<(typeof STATISTIC_NAMES)[number], StatisticName>>,
  Holds<Same<z.infer<typeof PinStatusSchema>, PinStatus>>,
  Holds<Same<z.infer<typeof SignatureStatusSchema>, SignatureStatus>>,
  Holds<Same<z.infer<typeof SignatureMethodSchema>, SignatureMethod>>,
  Holds<Same<z.infer<typeof FileSeverity>, ProvenanceSeverity>>,
];
