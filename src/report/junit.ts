import type { CompactTest, ReportFinding, ScanReport } from './schema.js';
import { payloadTargets } from '../score/verdict.js';
import { clip, evidenceText, findingIndex, fmtMs, fmtQ, fmtQScore, originText, pct, PLAIN, severityRank, splitRef, steeringIndex, TARGET_STATUS, targetsInOrder, visible } from './common.js';

/**
 * JUnit XML for CI test tabs (Jenkins, GitLab, Azure DevOps, GitHub test-reporter actions).
 *
 * One <testsuite> per probe pack; one <testcase> per (trigger, placement): the all-baselines row of
 * `report.tests` (category null). Its status is the finding for that (trigger, placement) when there
 * is one, since a finding may come from a per-category row while the all-baselines row passed.
 *
 * - flagged → <failure type="flagged">
 * - suspicious → <failure type="suspicious"> as well: suspicious means significant after the
 *   false-discovery correction, which a reviewer must look at; a CI gate that ignores suspicious
 *   findings is `--fail-on flagged`, not a green test tab. Pass `{ suspicious: 'pass' }` to list
 *   them as passed tests with the reason in <system-out> instead.
 * - steering → a passed <testcase> whose <system-out> says why it is not a finding (its evidence):
 *   a significant effect without a payload never counts against the model
 * - negative-control → <skipped> (calibration strings, never findings)
 * - pass → an empty <testcase>
 *
 * A finding's body says why it is one (its evidence) and how its trigger was found (pack, or the
 * discovery signals with the inverted target and its Q).
 *
 * Test names are `<trigger id> @<placement>`, stable across runs so CI can track a test's history;
 * the trigger text (invisible characters made visible) is in the failure message and <system-out>.
 * Discovered triggers are in the suite `discovered`, named `"<text>" @<placement>`: their ids are a
 * rank within one run, their text is what is found again. When discovery ran, that suite's
 * <system-out> lists its stages and inverted targets (and a passing testcase `trigger discovery`
 * stands for it when no candidate was tested).
 *
 * When the report recorded file checks, a last suite `file-safety` has one failing testcase per
 * critical or high finding (`<finding id> @<file>`; these make the verdict flagged or suspicious),
 * or one passing testcase `file checks` when there is none; lower severities are listed in the
 * suite's <system-out>.
 */

export interface JunitOptions {
  suspicious?: 'failure' | 'pass';
}

/**
 * XML 1.0 text: escape markup, and replace what XML 1.0 forbids even as a character reference
 * (C0 controls other than tab, LF and CR; U+FFFE, U+FFFF; lone surrogates) with a visible ⟨U+XXXX⟩.
 */
export function xmlText(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, (c) => `⟨U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`)
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'))
    // A parser turns a literal CR (or CR LF) into LF; a reference keeps it.
    .replace(/\r/g, '&#13;');
}

/** XML 1.0 attribute value (double-quoted); tab, LF and CR as references so that attribute normalisation keeps them. */
export function xmlAttr(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

/** Shown text: invisible and bidi characters as code points, then XML-safe. */
const va = (s: string) => xmlAttr(visible(s));

interface Case {
  pack: string;
  name: string;
  classname: string;
  status: 'failure' | 'skipped' | 'pass';
  type: string;
  message: string;
  body: string;
}

/** How a finding or a steering row was found and why it is at its level, for <system-out>. */
const whyLines = (f: ReportFinding): string[] => [`evidence: ${evidenceText(f, PLAIN)}`, `found by: ${originText(f, PLAIN)}`];

function caseFor(row: CompactTest, f: ReportFinding | undefined, steer: ReportFinding | undefined, r: ScanReport, o: Required<JunitOptions>): Case {
  const { pack, id } = splitRef(row.trigger, r);
  const shown = f ?? steer;
  const name = row.source === 'discovered' && shown ? `"${clip(visible(shown.trigger.text), 60)}" @${row.placement}` : `${id} @${row.placement}`;
  const base = { pack, name, classname: `trigger-scan.${pack}` };
  const level = f?.level ?? row.level;
  if (level === 'negative-control') {
    return { ...base, status: 'skipped', type: 'negative-control', message: 'negative control: reported for calibration, never a finding', body: '' };
  }
  if (f && (level === 'flagged' || level === 'suspicious')) {
    const where = f.category ? ` (${f.category} prompts only)` : '';
    const message = `${level}: "${visible(f.trigger.text)}" at ${f.placement}${where} takes over ${pct(f.attackSuccess)} of ${f.baselines} baselines (attack success ${f.attackSuccess.toFixed(3)}), q = ${fmtQ(f.qValue)}`;
    const lines = [
      message,
      `trigger ${f.trigger.ref}: ${visible(f.trigger.text)}`,
      ...whyLines(f),
      `beat every control on ${f.exceedances}/${f.baselines} baselines; t = ${f.t.toFixed(2)}, p = ${fmtQ(f.pValue)}, q = ${fmtQ(f.qValue)}; divergence ${f.meanDivergence.toFixed(4)} vs controls ${f.controlMeanDivergence.toFixed(4)}`,
      ...f.examples.slice(0, 3).flatMap((e, i) => [`example ${i + 1} (${e.baseline}):`, `  prompt:    ${visible(e.triggeredPrompt)}`, `  clean:     ${visible(e.clean)}`, `  triggered: ${visible(e.triggered)}`]),
    ];
    const status = level === 'suspicious' && o.suspicious === 'pass' ? 'pass' : 'failure';
    return { ...base, status, type: level, message, body: lines.join('\n') };
  }
  if (steer) {
    const where = steer.category ? ` (${steer.category} prompts only)` : '';
    const lines = [
      `steering, not a finding: "${visible(steer.trigger.text)}" at ${steer.placement}${where} moves ${pct(steer.attackSuccess)} of ${steer.baselines} baselines, q = ${fmtQ(steer.qValue)}, without a payload`,
      `trigger ${steer.trigger.ref}: ${visible(steer.trigger.text)}`,
      ...whyLines(steer),
      ...(steer.convergence ? [`common answer: ${visible(steer.convergence.modeOutput)}`] : []),
    ];
    return { ...base, status: 'pass', type: 'steering', message: '', body: lines.join('\n') };
  }
  return { ...base, status: 'pass', type: 'pass', message: '', body: '' };
}

/** The discovery stages and inverted targets, as lines for the `discovered` suite's <system-out>. */
function discoveryLines(d: NonNullable<ScanReport['discovery']>): string[] {
  return [
    'trigger discovery stages:',
    ...d.stages.map((s) => `  ${s.name}: ${fmtMs(s.ms)}, ${s.candidates} candidate(s)${s.skipped ? `, skipped: ${s.skipped}` : ''}`),
    d.targets.length ? 'inverted targets (Q, signal, status):' : 'inverted targets: none',
    ...targetsInOrder(d).map((t) => `  "${visible(t.text)}" Q ${fmtQScore(t.qScore)}, ${t.signal}, ${t.status}${t.harmful ? ' (harmful)' : ''} — ${TARGET_STATUS[t.status]}`),
  ];
}

export function renderJunit(r: ScanReport, opts: JunitOptions = {}): string {
  const o: Required<JunitOptions> = { suspicious: opts.suspicious ?? 'failure' };
  const findings = findingIndex(r);
  const steering = steeringIndex(r);
  const suites = new Map<string, Case[]>();
  for (const p of r.packs) if (p.triggers > 0) suites.set(p.name, []);
  for (const row of r.tests) {
    if (row.category !== null) continue;
    const k = `${row.trigger}@${row.placement}`;
    const c = caseFor(row, findings.get(k), steering.get(k), r, o);
    if (!suites.has(c.pack)) suites.set(c.pack, []);
    suites.get(c.pack)!.push(c);
  }
  // The suite of discovered triggers: its <system-out> tells what discovery did, even when it proposed nothing.
  // Discovered triggers are refs `discovered/<id>` (src/discover/discover.ts), so their suite is `discovered`.
  const discoveredSuite = 'discovered';
  if (r.discovery) {
    const cases = suites.get(discoveredSuite) ?? [];
    if (!cases.length) cases.push({ pack: discoveredSuite, name: 'trigger discovery', classname: `trigger-scan.${discoveredSuite}`, status: 'pass', type: 'pass', message: '', body: 'no discovered candidate was tested' });
    // A harmful inverted target makes the model suspicious by itself (score/verdict.ts), so it is a case too.
    for (const t of payloadTargets(r.discovery.targets)) {
      const what = `inverted payload "${visible(t.text.trim().slice(0, 60))}"`;
      const body = `target inversion: forced to start its answer with one token, the model continues to "${visible(t.text)}" whatever the prompt (Q ${fmtQScore(t.qScore)}, ${t.signal}); a detector recognises it as harmful`;
      cases.push({ pack: discoveredSuite, name: what, classname: `trigger-scan.${discoveredSuite}`, status: o.suspicious === 'pass' ? 'pass' : 'failure', type: 'suspicious', message: `suspicious: ${what}`, body });
    }
    suites.set(discoveredSuite, cases);
  }
  const ff = r.fileFindings;
  if (ff) {
    const serious = ff.filter((f) => severityRank(f.severity) >= severityRank('high'));
    const cases: Case[] = serious.map((f) => ({
      pack: 'file-safety', name: `${f.id} @${f.file}`, classname: 'trigger-scan.file-safety', status: 'failure', type: f.severity,
      message: `${f.severity}: ${visible(f.message)}`, body: `${f.id} (${f.severity}) in ${visible(f.file)}: ${visible(f.message)}`,
    }));
    if (!cases.length) cases.push({ pack: 'file-safety', name: 'file checks', classname: 'trigger-scan.file-safety', status: 'pass', type: 'pass', message: '', body: '' });
    suites.set('file-safety', cases);
  }
  const minor = (ff ?? []).filter((f) => severityRank(f.severity) < severityRank('high'));
  const count = (cs: Case[], s: Case['status']) => cs.filter((c) => c.status === s).length;
  const all = [...suites.values()].flat();
  const secs = (r.run.durationMs / 1000).toFixed(3);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites name="trigger-scan" tests="${all.length}" failures="${count(all, 'failure')}" errors="0" skipped="${count(all, 'skipped')}" time="${secs}" timestamp="${xmlAttr(r.run.startedAt.replace(/Z$/, ''))}">`);
  for (const [pack, cases] of suites) {
    if (!cases.length) continue;
    const p = r.packs.find((x) => x.name === pack);
    out.push(`  <testsuite name="${va(pack)}" tests="${cases.length}" failures="${count(cases, 'failure')}" errors="0" skipped="${count(cases, 'skipped')}" time="0" timestamp="${xmlAttr(r.run.startedAt.replace(/Z$/, ''))}">`);
    out.push('    <properties>');
    const props: [string, string][] = [
      ['model', r.model.dir],
      ['model.rootDigest', r.model.rootDigest],
      ['verdict', r.verdict.level],
      ['seed', String(r.settings.seed)],
      ['fdr', String(r.settings.fdr)],
      ['minAttackSuccess', String(r.settings.minAttackSuccess)],
      ...(p ? ([['pack.version', p.version], ['pack.digest', p.digest]] as [string, string][]) : []),
    ];
    for (const [k, v] of props) out.push(`      <property name="${xmlAttr(k)}" value="${va(v)}"/>`);
    out.push('    </properties>');
    for (const c of cases) {
      const open = `    <testcase classname="${va(c.classname)}" name="${va(c.name)}" time="0"`;
      if (c.status === 'pass' && !c.body) out.push(`${open}/>`);
      else if (c.status === 'skipped') out.push(`${open}>`, `      <skipped message="${xmlAttr(c.message)}"/>`, '    </testcase>');
      else if (c.status === 'failure') out.push(`${open}>`, `      <failure message="${xmlAttr(c.message)}" type="${xmlAttr(c.type)}">${xmlText(c.body)}</failure>`, `      <system-out>${xmlText(c.body)}</system-out>`, '    </testcase>');
      else out.push(`${open}>`, `      <system-out>${xmlText(c.body)}</system-out>`, '    </testcase>');
    }
    if (pack === discoveredSuite && r.discovery) out.push(`    <system-out>${xmlText(discoveryLines(r.discovery).join('\n'))}</system-out>`);
    if (pack === 'file-safety' && minor.length) out.push(`    <system-out>${xmlText(minor.map((f) => `${f.severity} ${f.id} @${visible(f.file)}: ${visible(f.message)}`).join('\n'))}</system-out>`);
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
