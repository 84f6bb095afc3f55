/**
 * summary.md and summary.html: the scan-all table, one row per model. Model names, paths, trigger
 * texts and error messages are untrusted and escaped like every report field.
 */
import { clip, fmtQ, pct } from './common.js';
import { esc } from './html.js';
import { htmlPage } from './html-page.js';
import { mdCode, mdText, visible } from './markdown.js';
import type { ScanSummary, SummaryModel } from './summary.js';

const verdictWord = (m: SummaryModel): string => (m.status !== 'scanned' ? m.status : `${m.verdict ?? 'unknown'}${m.complete === false ? ' (partial)' : ''}`);

export function renderSummaryMarkdown(s: ScanSummary): string {
  const t = s.totals;
  const out = [
    `# trigger-scan: ${t.models} model(s)`,
    '',
    `${t.flagged} flagged, ${t.suspicious} suspicious, ${t.clean} clean, ${t.errors} could not be scanned${t.incomplete ? `, ${t.incomplete} scanned in part or skipped` : ''}. Exit code ${s.exitCode} (--fail-on ${mdText(s.failOn)}).`,
    '',
    '| model | verdict | flagged | suspicious | tests | top finding | report |',
    '|---|---|---:|---:|---:|---|---|',
  ];
  for (const m of s.models) {
    const top = m.top ? `${mdCode(m.top.text, 40, true)} @${mdText(m.top.placement)}, ${pct(m.top.attackSuccess)}, q ${fmtQ(m.top.qValue)}` : m.error ? mdText(m.error.message, 240) : '';
    out.push(`| ${mdText(m.name, 60)} | ${verdictWord(m)} | ${m.flagged} | ${m.suspicious} | ${m.tests} | ${top} | ${m.report ? mdText(m.report, 120) : ''} |`);
  }
  out.push('', `Written by trigger-scan ${mdText(s.tool.version)} at ${mdText(s.run.finishedAt)}.`, '');
  return out.join('\n');
}

const text = (s: string): string => esc(visible(s));

const CSS = `
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans",Arial,sans-serif;color:#1a1a1a;background:#fff}
main{max-width:1120px;margin:0 auto;padding:12px 20px 40px}
h1{font-size:1.7rem;margin:.6em 0 .2em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.93rem}
th,td{border:1px solid #d4d7dd;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f5f6f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.9em;overflow-wrap:anywhere}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.8rem;font-weight:700;color:#fff;white-space:nowrap}
.badge.flagged,.badge.error{background:#b00020}.badge.suspicious{background:#8a4b00}.badge.clean{background:#1b6b36}.badge.partial,.badge.skipped{background:#5a5f69}
.note{color:#4d4d4d}
figure{margin:.2em 0}
svg{display:block}
`;

function badge(m: SummaryModel): string {
  const level = m.status !== 'scanned' ? m.status : (m.verdict ?? 'error');
  const partial = m.complete === false ? ' <span class="badge partial">partial</span>' : '';
  return `<span class="badge ${esc(level)}">${esc(level)}</span>${partial}`;
}

/** Extra HTML per model (a trend chart), keyed by model name; empty strings are left out. */
export type SummaryExtras = ReadonlyMap<string, string>;

export function renderSummaryHtml(s: ScanSummary, extras: SummaryExtras = new Map()): string {
  const t = s.totals;
  const rows = s.models.map((m) => {
    const top = m.top
      ? `<code>${text(clip(m.top.text, 60))}</code> @${text(m.top.placement)} — ${esc(m.top.level)}, attack success ${pct(m.top.attackSuccess)}, q ${esc(fmtQ(m.top.qValue))}`
      : m.error
        ? text(m.error.message)
        : '';
    const link = m.report ? `<a href="${esc(encodeURI(m.report.replace(/report\.json$/, 'report.html')))}">report</a>` : '';
    const trend = extras.get(m.name) ?? '';
    return `<tr><td>${text(m.name)}<br><code class="note">${text(clip(m.dir, 80))}</code></td><td>${badge(m)}</td><td class="num">${m.flagged}</td><td class="num">${m.suspicious}</td><td class="num">${m.tests}</td><td>${top}</td><td>${trend}</td><td>${link}</td></tr>`;
  });
  return htmlPage(`trigger-scan: ${t.models} model(s), ${t.flagged} flagged`, CSS, `<h1>trigger-scan: ${t.models} model(s)</h1>
<p>${t.flagged} flagged, ${t.suspicious} suspicious, ${t.clean} clean, ${t.errors} could not be scanned${t.incomplete ? `, ${t.incomplete} scanned in part or skipped` : ''}. Exit code <strong>${s.exitCode}</strong> (--fail-on ${text(s.failOn)}). Source <code>${text(s.source)}</code>, ${esc(s.run.startedAt)} → ${esc(s.run.finishedAt)}.</p>
<div class="scroll" tabindex="0" role="region" aria-label="Models"><table>
<thead><tr><th scope="col">model</th><th scope="col">verdict</th><th scope="col">flagged</th><th scope="col">suspicious</th><th scope="col">tests</th><th scope="col">top finding or error</th><th scope="col">history</th><th scope="col">details</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>
<p class="note">Written by trigger-scan ${esc(s.tool.version)}. Self-contained: no scripts, fonts or network requests.</p>`);
}
