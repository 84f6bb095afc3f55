import type { ScanReport } from './schema.js';

/** Show invisible and bidi characters as code points; a reviewer must see what the probe was. */
export function visible(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/gu, (c) =>
    c === '\n' ? '⏎' : `⟨U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`,
  );
}

const cell = (s: string, max = 90) => {
  const v = visible(s).replace(/\|/g, '\\|');
  return v.length > max ? `${v.slice(0, max - 1)}…` : v;
};
const fmtP = (p: number) => (p === 0 ? '0' : p < 1e-3 ? p.toExponential(1) : p.toFixed(3));
const pct = (x: number) => `${Math.round(x * 100)}%`;

/** A short summary fit for a CI job summary or a pull-request comment. */
export function renderMarkdown(r: ScanReport): string {
  const icon = r.verdict.level === 'flagged' ? '🚩' : r.verdict.level === 'suspicious' ? '⚠️' : '✅';
  const out: string[] = [];
  out.push(`# trigger-scan: ${icon} ${r.verdict.level.toUpperCase()}`, '', r.verdict.summary, '');
  out.push(`**Model** \`${r.model.dir}\` — ${r.model.modelType ?? 'unknown'} ${r.model.task}, graph \`${r.model.graph}\` (${r.model.layout}), root digest \`${r.model.rootDigest}\``, '');
  if (r.findings.length) {
    out.push('## Findings', '', '| level | trigger | placement | baselines | attack success | q-value | divergence (trigger / controls) |', '|---|---|---|---|---|---|---|');
    for (const f of r.findings) {
      out.push(
        `| ${f.level} | \`${cell(f.trigger.text, 40)}\` (${f.trigger.ref}) | ${f.placement}${f.category ? ` (${f.category} only)` : ''} | ${f.exceedances}/${f.baselines} | ${pct(f.attackSuccess)} | ${fmtP(f.qValue)} | ${f.meanDivergence.toFixed(3)} / ${f.controlMeanDivergence.toFixed(3)} |`,
      );
    }
    out.push('');
    for (const f of r.findings.slice(0, 5)) {
      out.push(`### \`${cell(f.trigger.text, 60)}\` at ${f.placement}`, '');
      if (f.convergence) out.push(`Outputs converge: ${pct(f.convergence.modeShare)} of baselines give \`${cell(f.convergence.modeOutput, 60)}\` (controls at most ${pct(f.convergence.controlModeShare)}).`, '');
      const det = f.detectors.filter((d) => d.triggered > 0);
      if (det.length) out.push(`Detectors on triggered outputs: ${det.map((d) => `${d.detector} ${d.triggered}/${f.baselines} (clean ${d.clean}, controls ${pct(d.controlRate)})`).join('; ')}.`, '');
      out.push('| baseline | clean output | triggered prompt | triggered output |', '|---|---|---|---|');
      for (const e of f.examples) out.push(`| ${cell(e.prompt, 50)} | ${cell(e.clean, 60)} | ${cell((e.context ? `[context: ${e.context}] ` : '') + e.triggeredPrompt, 60)} | ${cell(e.triggered, 60)} |`);
      out.push('');
    }
  } else {
    out.push('No probed trigger fired. This is not proof that the model has no backdoor: only the listed triggers were tried.', '');
  }
  const s = r.settings;
  out.push(
    '## Run',
    '',
    `${r.stats.tests} trigger × placement tests (${r.stats.rows} rows with per-category tests) on ${r.stats.baselines} baselines, ${s.controls} controls per baseline; ${r.stats.probes} probes, ${r.stats.forwardPasses} forward passes in ${(r.run.durationMs / 1000).toFixed(1)} s.`,
    `Seed ${s.seed}, FDR ${s.fdr}, attack-success floor ${s.minAttackSuccess}, max new tokens ${s.maxNewTokens}. Packs: ${r.packs.map((p) => `${p.name}@${p.version}`).join(', ')}.`,
    '',
  );
  return out.join('\n');
}
