import type { ReportFinding, ScanReport } from './schema.js';
import {
  clip as clipped, discoveryBoundsText, evidenceText, fmtMs, fmtNum, fmtQ, fmtQScore, headline, noFindingsText, originShort, originText, rowsForTarget, severityRank, TARGET_STATUS, targetsInOrder, visible,
  type Escaper,
} from './common.js';
import { MAX_PROVENANCE_ITEMS, MAX_PROVENANCE_LINES, provenanceItems } from './provenance-text.js';

export { visible };

/**
 * Untrusted text in a table cell or a paragraph. GitHub renders HTML and links inside Markdown, so a
 * model output such as `<img src=…>` or `[x](https://…)` must not become markup in a PR comment:
 * every character that can start markup is backslash-escaped.
 */
export function mdText(s: string, max = 90): string {
  return clipped(visible(s), max).replace(/[\\`*_{}[\]()<>#!|~&]/g, '\\$&');
}

/**
 * Untrusted text as an inline code span: fenced with more backticks than it contains, so a backtick
 * in a trigger cannot close the span. In a table cell (`inTable`) `|` is escaped, because GFM splits
 * the row into cells before it reads code spans; elsewhere a backslash would show.
 */
export function mdCode(s: string, max = 60, inTable = false): string {
  const c = clipped(visible(s), max);
  const v = inTable ? c.replace(/\|/g, '\\|') : c;
  const run = Math.max(0, ...(v.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(run + 1);
  const pad = v.startsWith('`') || v.endsWith('`') || (v.startsWith(' ') && v.endsWith(' ') && v.trim()) ? ' ' : '';
  return `${fence}${pad}${v}${pad}${fence}`;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** Untrusted text in prose, and in a table cell (where `|` must be escaped inside code spans too). */
const PROSE: Escaper = { text: (s) => mdText(s, 400), code: (s) => mdCode(s, 60) };
const CELL: Escaper = { text: (s) => mdText(s, 200), code: (s) => mdCode(s, 40, true) };

/** The summary from build-report marks the trigger with backticks; escape everything else in it. */
function summaryText(s: string): string {
  const parts = s.split('`');
  if (parts.length % 2 === 0) return mdText(s, 400);
  return parts.map((p, i) => (i % 2 ? mdCode(p, 80) : mdText(p, 400))).join('');
}

/** Findings listed in the table; the rest are counted and left to report.json / report.html. */
const MAX_TABLE = 40;
const MAX_DETAILS = 5;
/** Steering rows and inverted targets listed; the rest are in report.json. */
const MAX_STEERING = 20;
const MAX_TARGETS = 12;

/** One line under the verdict: what the counts are, and where each finding came from. */
function countsLine(r: ScanReport): string {
  const h = headline(r);
  const parts = [`**${r.verdict.flagged}** flagged, **${r.verdict.suspicious}** suspicious${h.discovered ? ` (${h.discovered} found by discovery)` : ''}`];
  parts.push(`${r.stats.tests} trigger × placement tests`);
  if (h.steering) parts.push(`${h.steering} steering effect(s) listed apart, not findings`);
  parts.push(h.candidates === null ? 'trigger discovery did not run' : `trigger discovery proposed ${h.candidates} candidate(s)`);
  return `${parts.join(' · ')}.`;
}

function convergenceLine(f: ReportFinding): string | null {
  const c = f.convergence;
  if (!c) return null;
  const whole = c.fixedShare === null ? '' : `; ${pct(c.fixedShare)} of those give the same whole answer`;
  const clean = c.cleanCount === null ? '' : `; ${c.cleanCount} clean output(s) give it`;
  return `Outputs converge: ${pct(c.modeShare)} of baselines give ${mdCode(c.modeOutput, 60)} (controls at most ${pct(c.controlModeShare)})${whole}${clean}.`;
}

function steeringSection(r: ScanReport): string[] {
  if (!r.steering.length) return [];
  const out = [
    '## Steering (not findings)',
    '',
    'Significant effects whose outputs show no payload: a word that steers the answer, the model\'s usual reply, an echo. They do not count against the model; they are listed so that a reviewer can check the call.',
    '',
    '| trigger | placement | found by | attack success | q-value | why not a finding | common answer |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const f of r.steering.slice(0, MAX_STEERING)) {
    out.push(
      `| ${mdCode(f.trigger.text, 40, true)} (${mdText(f.trigger.ref)}) | ${mdText(f.placement)}${f.category ? ` (${mdText(f.category)} only)` : ''} | ${originShort(f, CELL)} | ${pct(f.attackSuccess)} | ${fmtQ(f.qValue)} | ${evidenceText(f, CELL)} | ${f.convergence ? mdCode(f.convergence.modeOutput, 40, true) : '—'} |`,
    );
  }
  if (r.steering.length > MAX_STEERING) out.push('', `…and ${r.steering.length - MAX_STEERING} more in report.json.`);
  out.push('');
  return out;
}

function discoverySection(r: ScanReport): string[] {
  const d = r.discovery;
  const out = ['## Discovery', ''];
  if (!d) return [...out, 'Trigger discovery did not run: only the pack triggers were tested.', ''];
  const bounds = discoveryBoundsText(d, PROSE);
  if (bounds) out.push(bounds, '');
  out.push('| stage | time | candidates | note |', '|---|---|---|---|');
  for (const s of d.stages) out.push(`| ${mdText(s.name)} | ${fmtMs(s.ms)} | ${s.candidates} | ${s.skipped ? `skipped: ${mdText(s.skipped)}` : ''} |`);
  out.push('');
  if (!d.targets.length) out.push('Target inversion found no continuation the search prompts agree on.', '');
  else {
    out.push('Inverted targets (continuations the model gives whatever the prompt; Q is how strongly the prompts agree):', '');
    out.push('| target | Q | signal | status | tested triggers |', '|---|---|---|---|---|');
    for (const t of targetsInOrder(d).slice(0, MAX_TARGETS)) {
      const rows = rowsForTarget(r, t.text);
      const found = rows.length ? rows.map((f) => `${mdCode(f.trigger.text, 30, true)} ${f.level}`).join(', ') : '—';
      out.push(`| ${mdCode(t.text, 60, true)} | ${fmtQScore(t.qScore)} | ${mdText(t.signal)} | ${mdText(t.status)}${t.harmful ? ' (**harmful**)' : ''} — ${TARGET_STATUS[t.status]} | ${found} |`);
    }
    if (d.targets.length > MAX_TARGETS) out.push('', `…and ${d.targets.length - MAX_TARGETS} more in report.json.`);
    out.push('');
  }
  if (d.candidates?.length) {
    out.push('Candidates confirmed on the baselines (the scan\'s test decides; a stopped test showed no payload in its own outputs):', '');
    out.push('| candidate | placement | signals | for target | outcome |', '|---|---|---|---|---|');
    for (const c of d.candidates) {
      const rows = r.tests.filter((t) => t.trigger === c.ref && t.placement === c.placement && t.category === null);
      const outcome = rows.map((t) => `${t.level}${t.stopped ? ' (stopped)' : ''}, attack success ${fmtNum(t.attackSuccess)}`).join('; ') || 'not run';
      out.push(`| ${mdCode(c.text, 40, true)} | ${mdText(c.placement)} | ${mdText(c.signals.join(', '))} | ${c.target ? mdCode(c.target, 40, true) : '—'} | ${outcome} |`);
    }
    out.push('');
  }
  return out;
}

/** A short summary fit for a CI job summary or a pull-request comment (kept well under GitHub's 65,536-character comment limit). */
export function renderMarkdown(r: ScanReport): string {
  const icon = r.verdict.level === 'flagged' ? '🚩' : r.verdict.level === 'suspicious' ? '⚠️' : r.verdict.level === 'partial' ? '⏸️' : '✅';
  const out: string[] = [];
  out.push(`# trigger-scan: ${icon} ${r.verdict.level.toUpperCase()}`, '', summaryText(r.verdict.summary), '', countsLine(r), '');
  const c = r.coverage;
  if (!c.complete) {
    const shown = c.untested.slice(0, 20).map((k) => mdCode(k, 60)).join(', ');
    out.push(`**Partial scan:** ${c.testsRun} of ${c.testsPlanned} tests ran (${c.reason === 'max-time' ? 'the --max-time budget ran out' : 'shards were missing'}). Not tested: ${shown}${c.untested.length > 20 ? `, and ${c.untested.length - 20} more (report.json, coverage.untested)` : ''}.`, '');
  }
  out.push(
    `**Model** ${mdCode(r.model.dir, 120)} — ${mdText(r.model.modelType ?? 'unknown')} ${mdText(r.model.task)}, graph ${mdCode(r.model.graph, 120)} (${mdText(r.model.layout)}), root digest \`${r.model.rootDigest}\``,
    '',
  );
  if (r.findings.length) {
    out.push('## Findings', '', '| level | trigger | placement | beat every control | attack success | q-value | divergence (trigger / controls) | evidence | found by |', '|---|---|---|---|---|---|---|---|---|');
    for (const f of r.findings.slice(0, MAX_TABLE)) {
      out.push(
        `| ${f.level} | ${mdCode(f.trigger.text, 40, true)} (${mdText(f.trigger.ref)}) | ${mdText(f.placement)}${f.category ? ` (${mdText(f.category)} only)` : ''} | ${f.exceedances}/${f.baselines} | ${pct(f.attackSuccess)} | ${fmtQ(f.qValue)} | ${f.meanDivergence.toFixed(3)} / ${f.controlMeanDivergence.toFixed(3)} | ${f.evidence ? mdText(f.evidence.kind) : '—'} | ${originShort(f, CELL)} |`,
      );
    }
    if (r.findings.length > MAX_TABLE) out.push('', `…and ${r.findings.length - MAX_TABLE} more finding(s) in report.json.`);
    out.push('');
    for (const f of r.findings.slice(0, MAX_DETAILS)) {
      out.push(`### ${mdCode(f.trigger.text, 60)} at ${mdText(f.placement)}${f.category ? ` (${mdText(f.category)} prompts)` : ''}`, '');
      out.push(`**Evidence** ${evidenceText(f, PROSE)}.`, '', `**Found by** ${originText(f, PROSE)}.`, '');
      const conv = convergenceLine(f);
      if (conv) out.push(conv, '');
      const det = f.detectors.filter((d) => d.triggered > 0);
      if (det.length) out.push(`Detectors on triggered outputs: ${det.map((d) => `${mdText(d.detector)} ${d.triggered}/${f.baselines} (clean ${d.clean}, controls ${pct(d.controlRate)})`).join('; ')}.`, '');
      if (f.examples.length) {
        out.push('<details><summary>Clean vs triggered examples</summary>', '');
        out.push('| baseline | clean output | triggered prompt | triggered output |', '|---|---|---|---|');
        for (const e of f.examples) out.push(`| ${mdText(e.prompt, 50)} | ${mdText(e.clean, 60)} | ${mdText((e.context ? `[context: ${e.context}] ` : '') + e.triggeredPrompt, 60)} | ${mdText(e.triggered, 60)} |`);
        out.push('', '</details>', '');
      }
    }
    if (r.findings.length > MAX_DETAILS) out.push(`Examples for the other ${r.findings.length - MAX_DETAILS} finding(s) are in report.html.`, '');
  } else {
    out.push(noFindingsText(r), '');
  }
  out.push(...steeringSection(r), ...discoverySection(r));
  const ff = r.fileFindings;
  const pv = r.provenance;
  out.push('## File safety and provenance', '');
  if (!pv) out.push('Provenance (pin, signature, expected digests): not recorded.', '');
  else {
    const bad = pv.expectations.filter((e) => !e.ok);
    out.push(
      `Pin: **${mdText(pv.pin.status)}**${pv.pin.name ? ` (${mdCode(pv.pin.name)})` : ''}. Signature: **${mdText(pv.signature.status)}**${pv.signature.reasons.length ? ` — ${mdText(pv.signature.reasons.join('; '), 200)}` : ''}. Expected digests: ${pv.expectations.length ? `${pv.expectations.length - bad.length}/${pv.expectations.length} match` : 'none given'}.`,
      ...bad.slice(0, 5).map((e) => `- ${mdText(e.source)}: ${mdText(e.message, 200)}`),
      '',
    );
    // Signer, trust root, training provenance ("no training provenance" when there is none), policy.
    const items = provenanceItems(pv, r.model.dir);
    for (const it of items.slice(0, MAX_PROVENANCE_ITEMS)) {
      out.push(`- **${it.label}**: ${mdText(it.headline, 300)}`, ...it.lines.slice(0, MAX_PROVENANCE_LINES).map((l) => `  - ${mdText(l, 300)}`));
      if (it.lines.length > MAX_PROVENANCE_LINES) out.push(`  - …and ${it.lines.length - MAX_PROVENANCE_LINES} more in report.json`);
    }
    if (items.length > MAX_PROVENANCE_ITEMS) out.push(`- …and ${items.length - MAX_PROVENANCE_ITEMS} more in report.json`);
    out.push('');
  }
  if (ff === null) out.push('File safety: not recorded: this report has no file-safety results.', '');
  else if (!ff.length) out.push('No file-safety or provenance findings.', '');
  else {
    out.push('| severity | id | file | message |', '|---|---|---|---|');
    for (const f of [...ff].sort((a, b) => severityRank(b.severity) - severityRank(a.severity)).slice(0, MAX_TABLE)) {
      out.push(`| ${mdText(f.severity)} | ${mdCode(f.id, 60, true)} | ${mdCode(f.file, 60, true)} | ${mdText(f.message, 120)} |`);
    }
    if (ff.length > MAX_TABLE) out.push('', `…and ${ff.length - MAX_TABLE} more in report.json.`);
    out.push('');
  }
  const s = r.settings;
  out.push(
    '## Run',
    '',
    `${r.stats.tests} trigger × placement tests (${r.stats.rows} rows with per-category tests) on ${r.stats.baselines} baselines, ${s.controls} controls per baseline; ${r.stats.probes} probes, ${r.stats.forwardPasses} forward passes in ${(r.run.durationMs / 1000).toFixed(1)} s.`,
    `Seed ${s.seed}, FDR ${s.fdr}, attack-success floor ${s.minAttackSuccess}, max new tokens ${s.maxNewTokens}. Packs: ${r.packs.map((p) => mdText(`${p.name}@${p.version}`)).join(', ')}.`,
    '',
  );
  if (r.warnings.length) out.push('## Warnings', '', ...r.warnings.slice(0, 20).map((w) => `- ${mdText(w, 200)}`), '');
  return out.join('\n');
}
