import type { CompactTest, ReportFinding, ScanReport } from './schema.js';
import { MAX_PROVENANCE_ITEMS, MAX_PROVENANCE_LINES, provenanceItems } from './provenance-text.js';
import { htmlHead } from './html-page.js';
import {
  byStrength, clip, discoveryBoundsText, evidenceText, findingIndex, fmtMs, fmtNum, fmtQ, fmtQScore, formatBytes, headline, levelRank, negLog10, noFindingsText, originShort, originText,
  pct, Q_CAP, rowsForTarget, severityRank, splitRef, steeringIndex, TARGET_STATUS, targetsInOrder, triggerTexts, visible, type Escaper,
} from './common.js';

/**
 * One self-contained HTML page: inline CSS, inline SVG charts drawn here, no script, no font, no
 * request of any kind (a strict Content-Security-Policy says so to the browser as well).
 *
 * Every string from the report goes through `text()`: model outputs, prompts and trigger texts are
 * hostile input, so they are HTML-escaped, and invisible, bidi or lookalike characters are shown as code points.
 */

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** HTML-escape for text and double-quoted attribute values. */
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ESC[c]!);
/** Untrusted text, shown as text: invisible characters made visible, then escaped. */
const text = (s: string): string => esc(visible(s));
/** Untrusted strings in prose: text escaped, triggers and targets as code. */
const HTML: Escaper = { text, code: (s) => `<code>${text(s)}</code>` };

const LEVEL_LABEL: Record<string, string> = { flagged: 'Flagged', suspicious: 'Suspicious', clean: 'Clean', partial: 'Partial', steering: 'steering', pass: 'pass', 'negative-control': 'negative control' };

const CSS = `
:root{color-scheme:light;--fg:#1a1a1a;--muted:#4d4d4d;--bg:#fff;--panel:#f5f6f8;--line:#d4d7dd;--flag:#b00020;--susp:#8a4b00;--ok:#1b6b36;--ctl:#2557a7;--pass:#767b85;--steer:#4f5d22;--mark:#fff1a8}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:0 20px 40px}
h1,h2,h3,h4{line-height:1.25}
h2{margin:2.2em 0 .6em;padding-bottom:.25em;border-bottom:2px solid var(--line);font-size:1.45rem}
h3{margin:1.6em 0 .5em;font-size:1.15rem;overflow-wrap:anywhere}
h4{margin:1.2em 0 .4em;font-size:1rem}
p,li,dd{overflow-wrap:anywhere}
td,th{overflow-wrap:break-word}
a{color:#0b57d0}
code,pre,.mono{font-family:ui-monospace,"SFMono-Regular","DejaVu Sans Mono","Liberation Mono",Menlo,Consolas,monospace;font-size:.9em}
code{overflow-wrap:anywhere}
td code{overflow-wrap:normal}
.digest{word-break:break-all}
.banner{color:#fff;padding:22px 20px 18px}
.banner.flagged{background:#8e0018}.banner.suspicious{background:#7a4100}.banner.clean{background:#17602f}.banner.partial{background:#4a4f59}
.banner .inner{max-width:1080px;margin:0 auto}
.banner h1{margin:0 0 .35em;font-size:2rem;letter-spacing:.01em}
.banner .tool{margin:0 0 .2em;font-size:.85rem;text-transform:uppercase;letter-spacing:.08em;opacity:.95}
.banner p{margin:.3em 0}
.banner .summary{font-size:1.1rem;max-width:70ch}
.banner code{background:rgba(255,255,255,.16);padding:0 .25em;border-radius:3px}
.counts{display:flex;flex-wrap:wrap;gap:8px 18px;margin-top:.6em;font-size:.95rem}
nav.toc{margin:14px 0 0;font-size:.95rem}
nav.toc ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px}
.scroll{overflow-x:auto;max-width:100%;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;margin:.4em 0 1em;font-size:.92rem}
caption{text-align:left;font-weight:600;padding:0 0 .3em;color:var(--muted)}
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--panel);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.num{white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.8rem;font-weight:700;color:#fff;white-space:nowrap}
.badge.flagged,.badge.critical,.badge.high{background:var(--flag)}.badge.suspicious,.badge.medium{background:var(--susp)}
.badge.pass,.badge.low,.badge.info{background:#5a5f69}.badge.negative-control{background:var(--ctl)}.badge.clean{background:var(--ok)}.badge.steering{background:var(--steer)}
.badge.src{background:#fff;color:var(--fg);border:1px solid var(--line);font-weight:600}.badge.src.discovered{border-color:var(--ctl);color:var(--ctl)}
dl.kv{display:grid;grid-template-columns:minmax(9em,max-content) 1fr;gap:4px 16px;margin:.5em 0 1em}
dl.kv dt{font-weight:600;color:var(--muted)}
dl.kv dd{margin:0;min-width:0}
dl.method dt{font-weight:700;margin-top:.7em}dl.method dd{margin:0 0 0 1em;max-width:80ch}
figure{margin:1em 0 1.6em}
figure svg{display:block;width:100%;height:auto;max-width:900px}
figure svg.narrow{display:none;max-width:480px}
figcaption{color:var(--muted);font-size:.92rem;margin-top:.4em;max-width:80ch}
p.legend{display:flex;flex-wrap:wrap;gap:4px 16px;margin:.3em 0;font-size:.88rem;color:var(--muted)}
p.legend i{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-1px;border-radius:2px}
ol.key{margin:.3em 0 0;padding-left:1.6em;font-size:.92rem}
.finding{border:1px solid var(--line);border-left:6px solid var(--line);border-radius:4px;padding:4px 16px 12px;margin:1.2em 0}
.finding.flagged{border-left-color:var(--flag)}.finding.suspicious{border-left-color:var(--susp)}.finding.steering{border-left-color:var(--steer)}
.finding dl.why{margin:.6em 0 .4em}
.finding dl.why dt{color:var(--fg)}
.finding h3{margin-top:.7em}
.finding .meta{color:var(--muted);font-size:.92rem;margin:.2em 0}
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:12px;margin:.4em 0 1em}
.side{border:1px solid var(--line);border-radius:4px;padding:8px 12px;min-width:0;background:var(--panel)}
.side.triggered{background:#fdf1f2;border-color:#e6b3ba}
.side .title{margin:0 0 .3em;font-weight:700}
.side .lbl{margin:.5em 0 .1em;font-size:.8rem;font-weight:600;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
pre.out{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word;background:#fff;border:1px solid var(--line);border-radius:3px;padding:6px 8px;max-height:18em;overflow-y:auto}
mark{background:var(--mark);color:inherit;outline:1px solid #b59a00}
details{margin:.6em 0 1em}
summary{cursor:pointer;font-weight:600}
.note{color:var(--muted)}
footer{margin-top:3em;padding-top:1em;border-top:1px solid var(--line);color:var(--muted);font-size:.9rem}
@media (max-width:700px){
  main{padding:0 12px 32px}
  .banner{padding:18px 12px 14px}
  .banner h1{font-size:1.6rem}
  .pair{grid-template-columns:minmax(0,1fr)}
  th{white-space:nowrap}
  dl.kv{grid-template-columns:minmax(0,1fr)}
  dl.kv dt{margin-top:.4em}
  h2{font-size:1.3rem}
}
@media (max-width:600px){figure svg.wide{display:none}figure svg.narrow{display:block}}
@media print{.scroll{overflow:visible}pre.out{max-height:none}}
`;

// ---------- charts ----------

const SVG_FONT = 'font-family="system-ui,-apple-system,Segoe UI,Roboto,Noto Sans,Liberation Sans,Arial,sans-serif"';
const COLOR: Record<CompactTest['level'], string> = { flagged: '#b00020', suspicious: '#a35a00', steering: '#5b6b2f', pass: '#767b85', 'negative-control': '#2557a7' };
const f1 = (x: number) => (Math.round(x * 10) / 10).toString();

/** Round steps (1, 2, 5 × 10^k) covering [0, max]. */
function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  if (out[out.length - 1]! < max) out.push(Number((out[out.length - 1]! + step).toPrecision(12)));
  return out;
}

interface Box { x0: number; y0: number; x1: number; y1: number }
const overlaps = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

interface Labelled { row: CompactTest; n: number; label: string }

/** Rows the scatter plot labels: the findings' rows first, else the rows nearest significance. */
function topRows(r: ScanReport, max = 6): CompactTest[] {
  const sorted = [...r.tests].sort(byStrength);
  const hits = sorted.filter((t) => t.level === 'flagged' || t.level === 'suspicious');
  return (hits.length ? hits : sorted.filter((t) => t.level !== 'negative-control')).slice(0, hits.length ? max : 3);
}

function rowLabel(t: CompactTest, texts: Map<string, string>, r: ScanReport): string {
  const trig = texts.get(t.trigger);
  const name = trig !== undefined ? visible(trig) : splitRef(t.trigger, r).id;
  return `${clip(name, 22)} @${t.placement}${t.category ? ` (${t.category})` : ''}`;
}

type Size = 'wide' | 'narrow';
const DIMS = {
  wide: { W: 760, L: 64, R: 24, T: 24, font: 13, small: 12 },
  narrow: { W: 360, L: 44, R: 12, T: 18, font: 12, small: 11 },
} as const;

function scatterChart(r: ScanReport, labelled: Labelled[], size: Size): string {
  const { W, L, R, T, font, small } = DIMS[size];
  const narrow = size === 'narrow';
  const H = narrow ? 380 : 450, B = narrow ? 82 : 68;
  const pw = W - L - R, ph = H - T - B;
  const thr = negLog10(r.settings.fdr);
  const ys = r.tests.map((t) => negLog10(t.qValue));
  const yMax = Math.max(thr * 1.5, ...ys, 1) * 1.08;
  const yt = niceTicks(yMax, narrow ? 4 : 5);
  const yTop = yt[yt.length - 1]!;
  // A little room either side, so points at 0% and 100% are whole.
  const X = (a: number) => L + ((Math.max(0, Math.min(1, a)) + 0.02) / 1.04) * pw;
  const Y = (v: number) => T + ph - (v / yTop) * ph;
  const floor = r.settings.minAttackSuccess;
  const out: string[] = [];
  const counts: Record<CompactTest['level'], number> = { flagged: 0, suspicious: 0, steering: 0, pass: 0, 'negative-control': 0 };
  for (const t of r.tests) counts[t.level] = (counts[t.level] ?? 0) + 1;
  const top = labelled.map((l) => `${l.n}: ${l.label}, attack success ${pct(l.row.attackSuccess)}, q ${fmtQ(l.row.qValue)} (${l.row.level})`).join('; ');
  const desc = `Scatter plot of ${r.tests.length} test rows (trigger × placement, all baselines and per baseline category). Horizontal axis: attack success from 0 to 100%. Vertical axis: minus log10 of the q-value, higher is more significant; the dashed horizontal line is the false-discovery rate ${r.settings.fdr}, the dashed vertical line the attack-success floor ${pct(floor)}; the shaded corner is where rows are flagged. ${counts.flagged} flagged rows (red), ${counts.suspicious} suspicious (orange), ${counts.steering} steering, not findings (olive), ${counts.pass} passed (grey), ${counts['negative-control']} negative controls (blue rings).${top ? ` Labelled: ${top}.` : ''}`;
  out.push(`<svg class="${size}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(`Attack success against significance for ${r.tests.length} test rows; ${counts.flagged} flagged, ${counts.suspicious} suspicious`)}" aria-describedby="scatter-desc-${size}" ${SVG_FONT} font-size="${font}">`);
  out.push(`<title>Attack success against −log10 q, one point per test row</title>`, `<desc id="scatter-desc-${size}">${esc(desc)}</desc>`);
  out.push(`<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="#fff" stroke="#9aa0a8"/>`);
  // Flag region: attack success >= floor and q <= fdr.
  out.push(`<rect x="${f1(X(floor))}" y="${T}" width="${f1(L + pw - X(floor))}" height="${f1(Math.max(0, Y(thr) - T))}" fill="#fbe6e9"/>`);
  for (const v of yt) out.push(`<line x1="${L}" x2="${L + pw}" y1="${f1(Y(v))}" y2="${f1(Y(v))}" stroke="#e3e5e9"/><text x="${L - 6}" y="${f1(Y(v) + 4)}" text-anchor="end" fill="#333">${v}</text>`);
  for (const a of narrow ? [0, 0.5, 1] : [0, 0.25, 0.5, 0.75, 1]) out.push(`<line x1="${f1(X(a))}" x2="${f1(X(a))}" y1="${T}" y2="${T + ph}" stroke="#e3e5e9"/><text x="${f1(X(a))}" y="${T + ph + 17}" text-anchor="${a === 1 && narrow ? 'end' : 'middle'}" fill="#333">${a * 100}%</text>`);
  out.push(`<line x1="${L}" x2="${L + pw}" y1="${f1(Y(thr))}" y2="${f1(Y(thr))}" stroke="#8e0018" stroke-dasharray="6 4"/>`);
  out.push(`<text x="${L + pw - 6}" y="${f1(Y(thr) + 15)}" text-anchor="end" fill="#8e0018" font-size="${small}">q = ${esc(String(r.settings.fdr))} (FDR)</text>`);
  out.push(`<line x1="${f1(X(floor))}" x2="${f1(X(floor))}" y1="${T}" y2="${T + ph}" stroke="#8e0018" stroke-dasharray="6 4"/>`);
  out.push(`<text x="${f1(X(floor) - 5)}" y="${T + 14}" text-anchor="end" fill="#8e0018" font-size="${small}">${narrow ? 'floor' : 'attack-success floor'} ${pct(floor)}</text>`);
  out.push(`<text x="${L + pw / 2}" y="${T + ph + 38}" text-anchor="middle" fill="#1a1a1a" font-weight="600">${narrow ? 'attack success' : 'attack success (share of baselines taken over)'}</text>`);
  out.push(`<text transform="translate(${narrow ? 12 : 16} ${T + ph / 2}) rotate(-90)" text-anchor="middle" fill="#1a1a1a" font-weight="600">${narrow ? '−log10 q' : '−log10 q (higher = more significant)'}</text>`);
  // Points: passes and negative controls underneath, findings on top.
  const order = [...r.tests].sort((a, b) => levelRank(b.level) - levelRank(a.level));
  const rad = narrow ? 0.8 : 1;
  out.push('<g>');
  for (const t of order) {
    const cx = f1(X(t.attackSuccess)), cy = f1(Y(negLog10(t.qValue)));
    const tip = `<title>${text(`${t.key} — ${t.level}, attack success ${pct(t.attackSuccess)}, q ${fmtQ(t.qValue)}`)}</title>`;
    if (t.level === 'negative-control') out.push(`<circle cx="${cx}" cy="${cy}" r="${f1(3.5 * rad)}" fill="none" stroke="${COLOR[t.level]}" stroke-width="1.3" opacity="0.7">${tip}</circle>`);
    else if (t.level === 'pass') out.push(`<circle cx="${cx}" cy="${cy}" r="${f1(3.5 * rad)}" fill="${COLOR.pass}" opacity="0.45">${tip}</circle>`);
    else if (t.level === 'steering') out.push(`<circle cx="${cx}" cy="${cy}" r="${f1(4.5 * rad)}" fill="${COLOR.steering}" opacity="0.8">${tip}</circle>`);
    else out.push(`<circle cx="${cx}" cy="${cy}" r="${f1(6 * rad)}" fill="${COLOR[t.level]}" stroke="#fff" stroke-width="1.5">${tip}</circle>`);
  }
  out.push('</g>');
  // Labels (numbers only on a phone; the list under the chart names them): greedy placement that
  // keeps clear of the other labels and of the plot edge.
  const placed: Box[] = [];
  const charW = (small + 0.5) * 0.55;
  out.push(`<g font-size="${small + 0.5}">`);
  for (const l of labelled) {
    const px = X(l.row.attackSuccess), py = Y(negLog10(l.row.qValue));
    const label = narrow ? String(l.n) : `${l.n} ${l.label}`;
    const w = [...label].length * charW + 6, h = small + 4;
    let chosen: { box: Box; anchor: 'start' | 'end'; tx: number; ty: number } | null = null;
    for (let step = 0; step < 24 && !chosen; step++) {
      const dy = (step % 2 ? 1 : -1) * Math.ceil(step / 2) * (h + 1);
      for (const side of px > L + pw * 0.55 ? (['end', 'start'] as const) : (['start', 'end'] as const)) {
        const gap = narrow ? 7 : 10;
        const tx = side === 'start' ? px + gap : px - gap;
        const ty = py + 4 + dy;
        const box: Box = side === 'start' ? { x0: tx - 3, y0: ty - h + 4, x1: tx + w, y1: ty + 4 } : { x0: tx - w, y0: ty - h + 4, x1: tx + 3, y1: ty + 4 };
        if (box.x0 < L || box.x1 > L + pw || box.y0 < T || box.y1 > T + ph) continue;
        if (placed.some((b) => overlaps(b, box))) continue;
        chosen = { box, anchor: side, tx, ty };
        break;
      }
    }
    if (!chosen) continue;
    placed.push(chosen.box);
    if (Math.abs(chosen.ty - 4 - py) > 8) out.push(`<line x1="${f1(px)}" y1="${f1(py)}" x2="${f1(chosen.anchor === 'start' ? chosen.tx - 2 : chosen.tx + 2)}" y2="${f1(chosen.ty - 4)}" stroke="#555" stroke-width="0.8"/>`);
    out.push(`<rect x="${f1(chosen.box.x0)}" y="${f1(chosen.box.y0)}" width="${f1(chosen.box.x1 - chosen.box.x0)}" height="${h}" rx="3" fill="#fff" fill-opacity="0.9"/>`);
    out.push(`<text x="${f1(chosen.tx)}" y="${f1(chosen.ty)}" text-anchor="${chosen.anchor}" fill="${l.row.level === 'pass' ? '#1a1a1a' : COLOR[l.row.level]}" font-weight="700">${text(label)}</text>`);
  }
  out.push('</g>');
  // Legend, under the axis title; two rows on a phone.
  const lg = [
    ['flagged', `<circle r="6" fill="${COLOR.flagged}"/>`],
    ['suspicious', `<circle r="6" fill="${COLOR.suspicious}"/>`],
    ['steering', `<circle r="4.5" fill="${COLOR.steering}" opacity="0.8"/>`],
    ['pass', `<circle r="3.5" fill="${COLOR.pass}" opacity="0.6"/>`],
    ['negative control', `<circle r="3.5" fill="none" stroke="${COLOR['negative-control']}" stroke-width="1.3"/>`],
  ] as const;
  let lx = L;
  let ly = T + ph + 60;
  lg.forEach(([name, glyph], i) => {
    if (narrow && i === 3) { lx = L; ly += 18; }
    out.push(`<g transform="translate(${f1(lx + 6)} ${ly - 4})">${glyph}</g><text x="${f1(lx + 16)}" y="${ly}" fill="#333" font-size="${small}">${name}</text>`);
    lx += 30 + name.length * small * 0.55;
  });
  out.push('</svg>');
  return out.join('');
}

interface Bin { lo: number; hi: number; trig: Record<CompactTest['level'], number>; ctl: number }

const log10d = (x: number) => Math.log10(Math.max(x, 1e-9));

/** Histogram bins over log10(divergence): about 28 bins of a round width over the data's range. */
function divergenceBins(rows: CompactTest[]): { bins: Bin[]; lo: number; hi: number } {
  const all = rows.flatMap((t) => [log10d(t.meanDivergence), log10d(t.controlMeanDivergence)]);
  let lo = all.length ? Math.floor(Math.min(...all) * 2) / 2 : -3;
  let hi = all.length ? Math.ceil(Math.max(...all) * 2) / 2 : 0;
  if (hi - lo < 1) { lo = Math.floor(lo); hi = lo + Math.max(1, Math.ceil(hi - lo)); }
  const width = [0.05, 0.1, 0.125, 0.2, 0.25, 0.5, 1].find((w) => (hi - lo) / w <= 32) ?? 1;
  const n = Math.max(1, Math.round((hi - lo) / width));
  const bins: Bin[] = Array.from({ length: n }, (_, i) => ({ lo: lo + i * width, hi: lo + (i + 1) * width, trig: { flagged: 0, suspicious: 0, steering: 0, pass: 0, 'negative-control': 0 }, ctl: 0 }));
  const at = (x: number) => Math.min(n - 1, Math.max(0, Math.floor((x - lo) / width + 1e-9)));
  for (const t of rows) {
    bins[at(log10d(t.meanDivergence))]!.trig[t.level]++;
    bins[at(log10d(t.controlMeanDivergence))]!.ctl++;
  }
  return { bins, lo, hi };
}

/** Axis ticks on a log10 axis: decades, plus 2 and 5 when the axis spans few decades. */
function logTicks(lo: number, hi: number, narrow: boolean): { at: number; label: string }[] {
  const out: { at: number; label: string }[] = [];
  const fine = hi - lo <= (narrow ? 1.6 : 3.2);
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) {
    for (const m of fine ? [1, 2, 5] : [1]) {
      const at = k + Math.log10(m);
      if (at < lo - 1e-9 || at > hi + 1e-9) continue;
      out.push({ at, label: fine ? esc(String(Number((m * 10 ** k).toPrecision(1)))) : sup(k) });
    }
  }
  return out;
}

const sup = (k: number) => `10<tspan dy="-6" font-size="10">${k < 0 ? '−' : ''}${Math.abs(k)}</tspan>`;

function divergenceChart(r: ScanReport, rows: CompactTest[], size: Size): string {
  const { W, L, R, T, font, small } = DIMS[size];
  const narrow = size === 'narrow';
  const H = narrow ? 360 : 420, B = narrow ? 56 : 60;
  const pw = W - L - R, ph = H - T - B;
  const { bins, lo, hi } = divergenceBins(rows);
  const maxC = Math.max(1, ...bins.map((b) => Math.max(b.ctl, Object.values(b.trig).reduce((a, c) => a + c, 0))));
  const yt = niceTicks(maxC, 3);
  const yTop = yt[yt.length - 1]!;
  // Headroom above the bars for the findings' markers.
  const mid = T + 34 + (ph - 34) / 2;
  const half = (ph - 34) / 2;
  const X = (lg: number) => L + ((lg - lo) / (hi - lo)) * pw;
  const Hh = (c: number) => (c / yTop) * half;
  const marked = rows.filter((t) => t.level === 'flagged' || t.level === 'suspicious').sort(byStrength);
  const texts = triggerTexts(r);
  const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)]! : 0; };
  const desc = `Mirrored histogram of mean divergence on a log scale, for ${rows.length} trigger × placement rows over all baselines. Above the axis: each trigger's mean divergence, stacked by the level of its finding (red flagged, orange suspicious, olive steering, grey passed, blue negative controls); triangles mark the findings. Below the axis: the mean divergence of the same row's random control strings. Median trigger divergence ${fmtNum(median(rows.map((t) => t.meanDivergence)), 4)}, median control divergence ${fmtNum(median(rows.map((t) => t.controlMeanDivergence)), 4)}.${marked.length ? ` Findings: ${marked.slice(0, 8).map((t) => `${t.key} (${t.level}) at ${fmtNum(t.meanDivergence, 3)} against ${fmtNum(t.controlMeanDivergence, 3)} for its controls`).join('; ')}.` : ''}`;
  const out: string[] = [];
  out.push(`<svg class="${size}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(`Divergence of triggers (above) against random controls (below), log scale, ${rows.length} rows${marked.length ? `; ${marked.length} finding(s) marked` : ''}`)}" aria-describedby="div-desc-${size}" ${SVG_FONT} font-size="${font}">`);
  out.push(`<title>Divergence of triggers against their controls (log scale)</title><desc id="div-desc-${size}">${esc(desc)}</desc>`);
  out.push(`<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="#fff" stroke="#9aa0a8"/>`);
  for (const v of yt) {
    for (const sgn of v === 0 ? [1] : [1, -1]) {
      const y = mid - sgn * Hh(v);
      out.push(`<line x1="${L}" x2="${L + pw}" y1="${f1(y)}" y2="${f1(y)}" stroke="#e3e5e9"/><text x="${L - 6}" y="${f1(y + 4)}" text-anchor="end" fill="#333">${v}</text>`);
    }
  }
  for (const tk of logTicks(lo, hi, narrow)) {
    out.push(`<line x1="${f1(X(tk.at))}" x2="${f1(X(tk.at))}" y1="${T}" y2="${T + ph}" stroke="#e3e5e9"/><text x="${f1(X(tk.at))}" y="${T + ph + 20}" text-anchor="middle" fill="#333">${tk.label}</text>`);
  }
  const stack: CompactTest['level'][] = ['pass', 'negative-control', 'steering', 'suspicious', 'flagged'];
  const fills: Record<CompactTest['level'], string> = { pass: '#8d929b', 'negative-control': '#6f93cf', steering: '#9aa86a', suspicious: COLOR.suspicious, flagged: COLOR.flagged };
  const tops = new Map<Bin, number>();
  for (const b of bins) {
    const x0 = X(b.lo) + 0.5, w = Math.max(1, X(b.hi) - X(b.lo) - 1);
    let y = mid;
    for (const lvl of stack) {
      const c = b.trig[lvl];
      if (!c) continue;
      const h = Hh(c);
      out.push(`<rect x="${f1(x0)}" y="${f1(y - h)}" width="${f1(w)}" height="${f1(h)}" fill="${fills[lvl]}"><title>${c} ${lvl} trigger row(s), divergence ${fmtNum(10 ** b.lo, 4)}–${fmtNum(10 ** b.hi, 4)}</title></rect>`);
      y -= h;
    }
    tops.set(b, y);
    if (b.ctl) out.push(`<rect x="${f1(x0)}" y="${f1(mid)}" width="${f1(w)}" height="${f1(Hh(b.ctl))}" fill="#2f6f6a" opacity="0.85"><title>${b.ctl} control mean(s), divergence ${fmtNum(10 ** b.lo, 4)}–${fmtNum(10 ** b.hi, 4)}</title></rect>`);
  }
  out.push(`<line x1="${L}" x2="${L + pw}" y1="${f1(mid)}" y2="${f1(mid)}" stroke="#1a1a1a"/>`);
  // ln 2 is the largest Jensen–Shannon divergence in nats.
  const ln2 = Math.log10(Math.LN2);
  if (ln2 <= hi && ln2 >= lo) out.push(`<line x1="${f1(X(ln2))}" x2="${f1(X(ln2))}" y1="${T}" y2="${T + ph}" stroke="#555" stroke-dasharray="3 3"/><text x="${f1(X(ln2) - 4)}" y="${T + ph - 6}" text-anchor="end" fill="#444" font-size="${small - 1}">ln 2 (max)</text>`);
  // Findings: a triangle over the bar each one sits in, labelled where there is room.
  const placed: Box[] = [{ x0: L, y0: T, x1: L + 110, y1: T + 20 }];
  const perBin = new Map<Bin, number>();
  const markers = marked.slice(0, 8).map((t) => {
    const lg = log10d(t.meanDivergence);
    const bin = bins.find((b) => lg >= b.lo - 1e-9 && lg < b.hi) ?? bins[bins.length - 1]!;
    const k = perBin.get(bin) ?? 0;
    perBin.set(bin, k + 1);
    const cx = X(lg), cy = (tops.get(bin) ?? mid) - 4 - k * 11;
    placed.push({ x0: cx - 6, y0: cy - 10, x1: cx + 6, y1: cy + 1 });
    return { t, cx, cy };
  });
  for (const { t, cx, cy } of markers) {
    const col = COLOR[t.level];
    out.push(`<path d="M${f1(cx - 5)} ${f1(cy - 9)}h10l-5 9z" fill="${col}" stroke="#fff" stroke-width="1"><title>${text(`${t.key}: ${t.level}, divergence ${fmtNum(t.meanDivergence, 4)} against ${fmtNum(t.controlMeanDivergence, 4)}`)}</title></path>`);
  }
  if (!narrow) {
    for (const { t, cx, cy } of markers) {
      const col = COLOR[t.level];
      const label = clip(visible(texts.get(t.trigger) ?? splitRef(t.trigger, r).id), 18);
      const w = [...label].length * (small * 0.62) + 8, h = small + 5;
      // Candidates: straight above, then up-left and up-right, climbing until clear.
      let box: Box | null = null;
      for (let step = 0; step < 8 && !box; step++) {
        const by = cy - 12 - h - step * (h + 1);
        for (const dx of [-w / 2, -w + 4, -4]) {
          const x0 = Math.min(Math.max(L + 1, cx + dx), L + pw - w - 1);
          const cand: Box = { x0, y0: by, x1: x0 + w, y1: by + h };
          if (cand.y0 < T + 1 || placed.some((b) => overlaps(b, cand))) continue;
          box = cand;
          break;
        }
      }
      if (!box) continue;
      placed.push(box);
      if (box.y1 < cy - 12) out.push(`<line x1="${f1(cx)}" y1="${f1(cy - 10)}" x2="${f1(Math.min(Math.max(cx, box.x0 + 4), box.x1 - 4))}" y2="${f1(box.y1)}" stroke="${col}" stroke-width="0.8"/>`);
      out.push(`<rect x="${f1(box.x0)}" y="${f1(box.y0)}" width="${f1(w)}" height="${h}" rx="3" fill="#fff" fill-opacity="0.92"/><text x="${f1(box.x0 + 4)}" y="${f1(box.y1 - 4)}" fill="${col}" font-size="${small}" font-weight="700">${text(label)}</text>`);
    }
  }
  out.push(`<text x="${L + 6}" y="${T + 15}" fill="#1a1a1a" font-weight="600">▲ triggers</text><text x="${L + 6}" y="${T + ph - 7}" fill="#1e524e" font-weight="600">${narrow ? '▼ controls' : "▼ controls (mean of the row's random strings)"}</text>`);
  out.push(`<text x="${L + pw / 2}" y="${H - 10}" text-anchor="middle" fill="#1a1a1a" font-weight="600">${narrow ? 'mean divergence (nats, log scale)' : 'mean Jensen–Shannon divergence from the clean answer (nats, log scale)'}</text>`);
  out.push(`<text transform="translate(${narrow ? 12 : 16} ${mid}) rotate(-90)" text-anchor="middle" fill="#1a1a1a" font-weight="600">rows</text>`);
  out.push('</svg>');
  return out.join('');
}

// ---------- sections ----------

function badge(level: string): string {
  return `<span class="badge ${esc(level)}">${esc(LEVEL_LABEL[level] ?? level)}</span>`;
}

function dl(rows: [string, string][], cls = 'kv'): string {
  return `<dl class="${cls}">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

function table(caption: string, head: (string | [string, 'num'])[], body: string[][], numCols: number[] = []): string {
  const th = head.map((h) => (Array.isArray(h) ? `<th scope="col" class="num">${h[0]}</th>` : `<th scope="col">${h}</th>`)).join('');
  const rows = body.map((r) => `<tr>${r.map((c, i) => (numCols.includes(i) ? `<td class="num">${c}</td>` : `<td>${c}</td>`)).join('')}</tr>`).join('\n');
  return `<div class="scroll" tabindex="0" role="region" aria-label="${esc(caption)}"><table><caption>${esc(caption)}</caption><thead><tr>${th}</tr></thead><tbody>\n${rows}\n</tbody></table></div>`;
}

/** The triggered prompt with the trigger text marked, so an invisible trigger shows where it sits. */
function markTrigger(prompt: string, trigger: string): string {
  const p = visible(prompt), t = visible(trigger);
  if (!t.trim()) return esc(p);
  return p.split(t).map(esc).join(`<mark>${esc(t)}</mark>`);
}

function banner(r: ScanReport): string {
  const v = r.verdict;
  const top = r.findings[0];
  const h = headline(r);
  return `<header class="banner ${esc(v.level)}"><div class="inner">
<p class="tool">trigger-scan ${esc(r.tool.version)} · backdoor scan report</p>
<h1 id="verdict">Verdict: ${esc(LEVEL_LABEL[v.level] ?? v.level)}</h1>
<p class="summary">${inlineCode(v.summary)}</p>
${top ? `<p class="top-trigger" id="top-trigger">Top trigger: <code>${text(top.trigger.text)}</code> (${text(top.trigger.ref)}, ${text(top.placement)}${top.category ? `, ${text(top.category)} prompts` : ''})${top.source === 'discovered' ? ', found by discovery' : ''} — attack success ${pct(top.attackSuccess)}, q = ${fmtQ(top.qValue)}${top.evidence ? `; evidence: ${text(top.evidence.kind)}` : ''}</p>` : ''}
<div class="counts"><span><strong>${v.flagged}</strong> flagged</span><span><strong>${v.suspicious}</strong> suspicious</span>${h.discovered ? `<span><strong>${h.discovered}</strong> found by discovery</span>` : ''}${h.steering ? `<span><strong>${h.steering}</strong> steering (not findings)</span>` : ''}<span><strong>${r.stats.tests}</strong>${r.coverage.complete ? '' : ` of ${r.coverage.testsPlanned}`} trigger × placement tests</span><span>${h.candidates === null ? 'discovery did not run' : `<strong>${h.candidates}</strong> discovered candidate(s) tested`}</span><span>model <code>${text(r.model.dir)}</code></span><span>scanned ${esc(r.run.finishedAt)}</span></div>
</div></header>`;
}

/** The summary uses Markdown backticks around the trigger; show those spans as code, everything escaped. */
function inlineCode(s: string): string {
  const parts = s.split('`');
  if (parts.length % 2 === 0) return text(s);
  return parts.map((p, i) => (i % 2 ? `<code>${text(p)}</code>` : text(p))).join('');
}

/** The ref, and under it how the trigger was found (the ref names the pack; discovery names its signals). */
function refCell(f: ReportFinding): string {
  const how = f.source === 'discovered' ? originShort(f, HTML) : 'pack';
  return `${text(f.trigger.ref)}<br><span class="note">${how}</span>`;
}

function findingsTable(r: ScanReport): string {
  if (!r.findings.length) return `<p>${esc(noFindingsText(r))}</p>`;
  return table(
    'Findings, strongest first',
    ['level', 'trigger', 'ref · found by', 'placement', ['beat every control', 'num'], ['attack success', 'num'], ['q\u2011value', 'num'], ['divergence (trigger / controls)', 'num'], 'evidence'],
    r.findings.map((f) => [
      badge(f.level),
      `<code>${text(clip(f.trigger.text, 60))}</code>`,
      refCell(f),
      `${text(f.placement)}${f.category ? ` (${text(f.category)} only)` : ''}`,
      `${f.exceedances}/${f.baselines}`,
      pct(f.attackSuccess),
      fmtQ(f.qValue),
      `${fmtNum(f.meanDivergence)} / ${fmtNum(f.controlMeanDivergence)}`,
      f.evidence ? text(f.evidence.kind) : '<span class="note">not recorded</span>',
    ]),
    [4, 5, 6, 7],
  );
}

function convergenceText(f: ReportFinding): string | null {
  const c = f.convergence;
  if (!c) return null;
  const whole = c.fixedShare === null ? '' : `; ${pct(c.fixedShare)} of those give the same whole answer`;
  const clean = c.cleanCount === null ? '' : `; ${c.cleanCount} clean output(s) give it`;
  return `Outputs converge: ${pct(c.modeShare)} of baselines answer <code>${text(clip(c.modeOutput, 80))}</code> (controls at most ${pct(c.controlModeShare)})${whole}${clean}.`;
}

/** Why the row is at its level (the evidence) and how its trigger came to be tested: first, so a reviewer sees it before the numbers. */
function whyList(f: ReportFinding): string {
  return dl([['Evidence', evidenceText(f, HTML)], ['Found by', originText(f, HTML, 120)]], 'kv why');
}

function findingDetail(f: ReportFinding, i: number, idPrefix = 'finding'): string {
  const det = f.detectors.filter((d) => d.triggered > 0);
  const meta: string[] = [
    `${text(f.trigger.ref)} · kind ${text(f.trigger.kind)}${f.trigger.tags.length ? ` · tags ${text(f.trigger.tags.join(', '))}` : ''}${f.trigger.source ? ` · source ${text(f.trigger.source)}` : ''}`,
    `Beat every control on ${f.exceedances} of ${f.baselines} baselines; attack success ${pct(f.attackSuccess)} (output changed on ${pct(f.changedShare)}, controls ${pct(f.controlChangedShare)}); t = ${fmtNum(f.t, 2)}, p = ${fmtQ(f.pValue)}, q = ${fmtQ(f.qValue)}; mean divergence ${fmtNum(f.meanDivergence)} against ${fmtNum(f.controlMeanDivergence)} for ${f.controls} controls.`,
  ];
  // Per-statistic tests (teacher-forced divergence, first token, convergence), when the report has them.
  const stats = Object.entries((f as { statistics?: Record<string, { t?: number; p?: number } | undefined> }).statistics ?? {})
    .filter((e): e is [string, { t: number; p: number }] => typeof e[1]?.t === 'number' && typeof e[1]?.p === 'number');
  if (stats.length) meta.push(`Statistics against the controls: ${stats.map(([k, v]) => `${text(k)} t = ${fmtNum(v.t, 2)}, p = ${fmtQ(v.p)}`).join('; ')}.`);
  const conv = convergenceText(f);
  if (conv) meta.push(conv);
  if (det.length) meta.push(`Detectors on triggered outputs: ${det.map((d) => `${text(d.detector)} ${d.triggered}/${f.baselines} (clean ${d.clean}, controls ${pct(d.controlRate)})`).join('; ')}.`);
  // In a <pre>, a line break is shown as ⏎ and kept, so code output keeps its shape.
  const pre = (html: string) => `<pre class="out">${html.replace(/⏎/g, '⏎\n')}</pre>`;
  const ex = f.examples.map((e, k) => `<h4>Example ${k + 1}: ${text(e.baseline)} <span class="note">(divergence ${fmtNum(e.divergence)})</span></h4>
<div class="pair">
<div class="side clean"><p class="title">Clean</p><p class="lbl">prompt</p>${pre(text(e.prompt))}<p class="lbl">output</p>${pre(text(e.clean))}</div>
<div class="side triggered"><p class="title">Triggered</p>${e.context !== null ? `<p class="lbl">context</p>${pre(markTrigger(e.context, f.trigger.text))}` : ''}<p class="lbl">prompt</p>${pre(markTrigger(e.triggeredPrompt, f.trigger.text))}<p class="lbl">output</p>${pre(text(e.triggered))}</div>
</div>`);
  return `<section class="finding ${esc(f.level)}" aria-labelledby="${idPrefix}-${i}">
<h3 id="${idPrefix}-${i}">${badge(f.level)} <code>${text(clip(f.trigger.text, 80))}</code> at ${text(f.placement)}${f.category ? ` (${text(f.category)} prompts only)` : ''}${f.source === 'discovered' ? ' <span class="badge src discovered">discovered</span>' : ''}</h3>
${whyList(f)}
${meta.map((m) => `<p class="meta">${m}</p>`).join('\n')}
${ex.join('\n') || '<p class="note">No examples recorded.</p>'}
</section>`;
}

/** Steering rows shown in full (with examples) inside the collapsed section; the rest are in the table. */
const MAX_STEERING_DETAILS = 5;

function steeringSection(r: ScanReport): string {
  const intro = '<p>Significant effects whose outputs show no payload: a word that steers the answer, the model\'s usual reply, an echo of the inserted string. <strong>They do not count against the model</strong> and are not in the verdict; they are listed so that a reviewer can check the call.</p>';
  if (!r.steering.length) return `${intro}\n<p class="note">No steering effects: no significant effect without a payload.</p>`;
  const rows = table(
    'Steering effects (not findings)',
    ['trigger', 'ref · found by', 'placement', ['attack success', 'num'], ['q\u2011value', 'num'], 'why not a finding', 'common answer'],
    r.steering.map((f) => [
      `<code>${text(clip(f.trigger.text, 60))}</code>`,
      refCell(f),
      `${text(f.placement)}${f.category ? ` (${text(f.category)} only)` : ''}`,
      pct(f.attackSuccess),
      fmtQ(f.qValue),
      evidenceText(f, HTML),
      f.convergence ? `<code>${text(clip(f.convergence.modeOutput, 60))}</code>` : '<span class="note">none</span>',
    ]),
    [3, 4],
  );
  const shown = r.steering.slice(0, MAX_STEERING_DETAILS);
  return `${intro}
<details><summary>${r.steering.length} steering effect(s): table${shown.length ? ' and examples' : ''}</summary>
${rows}
${shown.map((f, i) => findingDetail(f, i, 'steering')).join('\n')}
${r.steering.length > shown.length ? `<p class="note">Examples of ${r.steering.length - shown.length} more steering row(s) are in report.json.</p>` : ''}
</details>`;
}

function discoverySection(r: ScanReport): string {
  const d = r.discovery;
  if (!d) return '<p>Trigger discovery did not run for this report: only the pack triggers were tested.</p>';
  const found = (t: string) => {
    const rows = rowsForTarget(r, t);
    return rows.length ? rows.map((f) => `<code>${text(clip(f.trigger.text, 40))}</code> ${badge(f.level)}`).join('<br>') : '<span class="note">none</span>';
  };
  const bounds = discoveryBoundsText(d, HTML);
  return `<p>Discovery proposes trigger strings no pack lists, on search prompts that are never the baselines they are tested on; each candidate then faces the same test as a pack trigger. Method: see <a href="#method">discovery</a>.</p>
${bounds ? `<p>${bounds}</p>` : ''}
<h3>Stages</h3>
${table('Discovery stages, in order', ['stage', ['time', 'num'], ['candidates', 'num'], 'note'],
    d.stages.map((st) => [text(st.name), fmtMs(st.ms), String(st.candidates), st.skipped ? `skipped: ${text(st.skipped)}` : '']), [1, 2])}
<h3>Inverted targets</h3>
${d.targets.length
    ? `<p>Continuations the model gives whatever the prompt. Q, from 0 to 1, is how strongly the search prompts agree on one.</p>
${table('Inverted targets', ['target', ['Q', 'num'], 'signal', 'status', 'tested triggers'],
      targetsInOrder(d).map((t) => [`<code>${text(clip(t.text, 120))}</code>`, fmtQScore(t.qScore), text(t.signal), `<strong>${text(t.status)}</strong>${t.harmful ? ' (<strong>harmful</strong>)' : ''} — ${esc(TARGET_STATUS[t.status])}`, found(t.text)]), [1])}`
    : '<p>Target inversion found no continuation the search prompts agree on.</p>'}`;
}

function dataTable(r: ScanReport): string {
  const rows = [...r.tests].sort(byStrength);
  return `<details><summary>Data table: all ${rows.length} test rows (the data behind both charts)</summary>
${table(
    'Every test row, strongest first',
    ['key', 'level', ['baselines', 'num'], ['exceedances', 'num'], ['attack success', 'num'], ['q\u2011value', 'num'], ['−log10 q', 'num'], ['trigger divergence', 'num'], ['control divergence', 'num']],
    rows.map((t) => [
      `<code>${text(t.key)}</code>`,
      badge(t.level),
      String(t.baselines),
      String(t.exceedances),
      pct(t.attackSuccess),
      fmtQ(t.qValue),
      negLog10(t.qValue) >= Q_CAP ? `≥ ${Q_CAP}` : negLog10(t.qValue).toFixed(2),
      fmtNum(t.meanDivergence, 4),
      fmtNum(t.controlMeanDivergence, 4),
    ]),
    [2, 3, 4, 5, 6, 7, 8],
  )}
</details>`;
}

function binsTable(rows: CompactTest[]): string {
  const { bins } = divergenceBins(rows);
  const used = bins.filter((b) => b.ctl || Object.values(b.trig).some(Boolean));
  return `<details><summary>Data table: histogram bins</summary>
${table(
    'Rows per divergence bin (log10 bounds)',
    [['from', 'num'], ['to', 'num'], ['flagged', 'num'], ['suspicious', 'num'], ['steering', 'num'], ['passed', 'num'], ['negative controls', 'num'], ['controls', 'num']],
    used.map((b) => [fmtNum(10 ** b.lo, 4), fmtNum(10 ** b.hi, 4), String(b.trig.flagged), String(b.trig.suspicious), String(b.trig.steering), String(b.trig.pass), String(b.trig['negative-control']), String(b.ctl)]),
    [0, 1, 2, 3, 4, 5, 6, 7],
  )}
</details>`;
}

function modelSection(r: ScanReport): string {
  const m = r.model;
  return `${dl([
    ['Folder', `<code>${text(m.dir)}</code>`],
    ['Graph', `<code>${text(m.graph)}</code> (${text(m.layout)} layout)`],
    ['Task', text(m.task)],
    ['Model type', m.modelType ? text(m.modelType) : '<span class="note">unknown</span>'],
    ['Architectures', m.architectures.length ? text(m.architectures.join(', ')) : '<span class="note">none declared</span>'],
    ['Prompt format', text(m.promptFormat)],
    ['Root digest', `<code class="digest">${text(m.rootDigest)}</code> <span class="note">(OpenSSF model-signing files method)</span>`],
    ['Directory digest', `<code class="digest">${text(m.directoryDigest)}</code> <span class="note">(Go dirhash h1 / in-toto dirHash1)</span>`],
  ])}
${table(
    `Files (${m.files.length})`,
    ['path', ['size', 'num'], 'sha256'],
    m.files.map((f) => [`<code>${text(f.path)}</code>`, `<span title="${f.size} bytes">${formatBytes(f.size)}</span>`, `<code class="digest">${text(f.sha256)}</code>`]),
    [1],
  )}`;
}

function safetySection(r: ScanReport): string {
  const ff = r.fileFindings;
  const out: string[] = [];
  out.push('<h3>Provenance</h3>');
  const pv = r.provenance;
  if (!pv) out.push('<p>Provenance checks (pin, signature, expected digests): <strong>not recorded</strong> in this report.</p>');
  else {
    const tone = (s: string, good: string[], bad: string[]) => `<span class="badge ${good.includes(s) ? 'clean' : bad.includes(s) ? 'flagged' : 'pass'}">${text(s)}</span>`;
    out.push(dl([
      ['Pin', `${tone(pv.pin.status, ['match', 'recorded'], ['mismatch', 'unknown'])}${pv.pin.name ? ` <code>${text(pv.pin.name)}</code>` : ''}`],
      ['Signature', `${tone(pv.signature.status, ['verified'], ['failed'])}${pv.signature.method && pv.signature.method !== 'unknown' ? ` ${text(pv.signature.method)}` : ''}${pv.signature.file ? ` <code>${text(pv.signature.file)}</code>` : ''}${pv.signature.reasons.length ? `<ul>${pv.signature.reasons.map((x) => `<li>${text(x)}</li>`).join('')}</ul>` : ''}`],
      ['Expected digests', pv.expectations.length ? `${pv.expectations.filter((e) => e.ok).length} of ${pv.expectations.length} match` : 'none given'],
    ]));
    const items = provenanceItems(pv, r.model.dir);
    const TONE = { good: 'clean', bad: 'flagged', warn: 'suspicious' } as const;
    out.push(dl(items.slice(0, MAX_PROVENANCE_ITEMS).map((it) => [
      text(it.label),
      `<span class="badge ${TONE[it.tone]}">${text(it.tone === 'good' ? 'ok' : it.tone === 'bad' ? 'failed' : 'warning')}</span> ${text(it.headline)}${it.lines.length ? `<ul>${it.lines.slice(0, MAX_PROVENANCE_LINES).map((l) => `<li>${text(l)}</li>`).join('')}${it.lines.length > MAX_PROVENANCE_LINES ? `<li>…and ${it.lines.length - MAX_PROVENANCE_LINES} more in report.json</li>` : ''}</ul>` : ''}`,
    ])));
    if (items.length > MAX_PROVENANCE_ITEMS) out.push(`<p>…and ${items.length - MAX_PROVENANCE_ITEMS} more in report.json.</p>`);
    if (pv.expectations.length) {
      out.push(table('Expected digests', ['result', 'source', 'message'], pv.expectations.map((e) => [e.ok ? '<span class="badge clean">match</span>' : '<span class="badge flagged">mismatch</span>', text(e.source), text(e.message)])));
    }
  }
  out.push('<h3>File safety</h3>');
  if (ff === null) out.push('<p>File-safety checks: <strong>not recorded</strong>. This report has no <code>fileFindings</code> field, so the scan that wrote it did not record pickle, safetensors, ONNX or tokenizer checks; do not read their absence as a pass.</p>');
  else if (!ff.length) out.push('<p>No file-safety or provenance findings.</p>');
  else {
    const sorted = [...ff].sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    out.push(table(`File-safety and provenance findings (${ff.length})`, ['severity', 'id', 'file', 'message'], sorted.map((f) => [badge(f.severity), `<code>${text(f.id)}</code>`, `<code>${text(f.file)}</code>`, text(f.message)])));
  }
  out.push('<h3>Probe packs</h3>');
  out.push(table('Packs the probes came from', ['name', 'version', 'source', 'path', 'digest', ['triggers', 'num'], ['baselines', 'num'], ['detectors', 'num']],
    r.packs.map((p) => [text(p.name), text(p.version), p.builtin ? 'built-in' : p.package ? text(`npm ${p.package.name}@${p.package.version}`) : 'file', `<code>${text(p.path)}</code>`, `<code class="digest">${text(p.digest)}</code>`, String(p.triggers), String(p.baselines), String(p.detectors)]),
    [5, 6, 7]));
  if (r.warnings.length) out.push('<h3>Warnings</h3>', `<ul>${r.warnings.map((w) => `<li>${text(w)}</li>`).join('')}</ul>`);
  return out.join('\n');
}

function settingsSection(r: ScanReport): string {
  const s = r.settings;
  return dl([
    ['Seed', `<strong>${s.seed}</strong>`],
    ['Controls per group', String(s.controls)],
    ['Placements', s.placements ? text(s.placements.join(', ')) : 'every placement the packs allow'],
    ['False-discovery rate', String(s.fdr)],
    ['Attack-success floor', `${s.minAttackSuccess} (${pct(s.minAttackSuccess)})`],
    ['Smallest category tested alone', String(s.minCategorySize)],
    ['Max new tokens', String(s.maxNewTokens)],
    ['Batch size / threads', `${s.batchSize} / ${s.threads}`],
    ['Work', `${r.stats.tests} tests (${r.stats.rows} rows) on ${r.stats.baselines} baselines; ${r.stats.probes} probes, ${r.stats.forwardPasses} forward passes, ${r.stats.tokensIn} tokens in`],
    ['Run', `${esc(r.run.startedAt)} → ${esc(r.run.finishedAt)} (${(r.run.durationMs / 1000).toFixed(1)} s)`],
    ['Report', `${text(r.schema)} version ${r.schemaVersion}, written by ${text(r.tool.name)} ${text(r.tool.version)}`],
  ]);
}

export function renderHtml(r: ScanReport): string {
  const texts = triggerTexts(r);
  const labelled: Labelled[] = topRows(r).map((row, i) => ({ row, n: i + 1, label: rowLabel(row, texts, r) }));
  // One row per (trigger, placement), at the level of its finding (which may come from a per-category row).
  const fi = findingIndex(r);
  const si = steeringIndex(r);
  const overall = r.tests.filter((t) => t.category === null).map((t) => {
    const k = `${t.trigger}@${t.placement}`;
    const f = fi.get(k) ?? si.get(k);
    return f && levelRank(f.level) < levelRank(t.level) ? { ...t, level: f.level } : t;
  });
  const findings = r.findings.slice(0, 12);
  const title = `trigger-scan: ${LEVEL_LABEL[r.verdict.level] ?? r.verdict.level} — ${r.model.dir}`;
  return `${htmlHead(text(title), CSS, `trigger-scan ${r.tool.version}`)}${banner(r)}
<main>
<nav class="toc" aria-label="Sections"><ul>
<li><a href="#findings">Findings</a></li><li><a href="#charts">Charts</a></li><li><a href="#examples">Clean vs triggered</a></li><li><a href="#steering">Steering</a></li><li><a href="#discovery">Discovery</a></li><li><a href="#model">Model</a></li><li><a href="#safety">File safety &amp; provenance</a></li><li><a href="#settings">Settings</a></li><li><a href="#method">Method</a></li>
</ul></nav>

<section aria-labelledby="findings"><h2 id="findings">Findings</h2>
${findingsTable(r)}
</section>

<section aria-labelledby="charts"><h2 id="charts">Charts</h2>
<figure aria-labelledby="scatter-cap">
<div class="chart">${scatterChart(r, labelled, 'wide')}${scatterChart(r, labelled, 'narrow')}</div>
<figcaption id="scatter-cap">Attack success against significance, one point per test row (${r.tests.length}, including per-category rows). Rows in the shaded corner pass both the false-discovery rate and the attack-success floor. Hover a point for its row.</figcaption>
${labelled.length ? `<ol class="key" aria-label="Labelled points">${labelled.map((l) => `<li>${badge(l.row.level)} <code>${text(texts.get(l.row.trigger) ?? l.row.trigger)}</code> — ${text(l.row.key)}: attack success ${pct(l.row.attackSuccess)}, q = ${fmtQ(l.row.qValue)}</li>`).join('')}</ol>` : ''}
</figure>
<figure aria-labelledby="div-cap">
<div class="chart">${divergenceChart(r, overall, 'wide')}${divergenceChart(r, overall, 'narrow')}</div>
<p class="legend" aria-hidden="true"><span><i style="background:#b00020"></i>flagged trigger</span><span><i style="background:#a35a00"></i>suspicious trigger</span><span><i style="background:#9aa86a"></i>steering (not a finding)</span><span><i style="background:#8d929b"></i>passed trigger</span><span><i style="background:#6f93cf"></i>negative-control trigger</span><span><i style="background:#2f6f6a"></i>random controls</span></p>
<figcaption id="div-cap">How far each trigger moves the model's next-token distribution from the clean answer, against random control strings of the same length and kind inserted at the same place (${overall.length} trigger × placement rows over all baselines). A trigger far to the right of the controls is what a backdoor looks like.</figcaption>
</figure>
${dataTable(r)}
${binsTable(overall)}
</section>

<section aria-labelledby="examples"><h2 id="examples">Clean vs triggered outputs</h2>
<p class="note">Invisible and bidirectional characters, and lookalike letters from another script inside a Latin word, are shown as <code>⟨U+XXXX⟩</code>, line breaks as <code>⏎</code>; the trigger is <mark>marked</mark> in the triggered prompt.</p>
${findings.map((f, i) => findingDetail(f, i)).join('\n') || '<p>No findings, so no triggered examples to show.</p>'}
${r.findings.length > findings.length ? `<p class="note">${r.findings.length - findings.length} more finding(s) are in report.json.</p>` : ''}
</section>

<section aria-labelledby="steering"><h2 id="steering">Steering (not findings)</h2>
${steeringSection(r)}
</section>

<section aria-labelledby="discovery"><h2 id="discovery">Discovery</h2>
${discoverySection(r)}
</section>

<section aria-labelledby="model"><h2 id="model">Model identity and digests</h2>
${modelSection(r)}
</section>

<section aria-labelledby="safety"><h2 id="safety">File safety and provenance</h2>
${safetySection(r)}
</section>

<section aria-labelledby="settings"><h2 id="settings">Settings and seed</h2>
${settingsSection(r)}
</section>

<section aria-labelledby="method"><h2 id="method">Method</h2>
${dl(Object.entries(r.method).map(([k, v]) => [text(k), text(v)]), 'method')}
</section>

<footer><p>Generated by trigger-scan ${esc(r.tool.version)} from ${text(r.schema)} version ${r.schemaVersion}. This page is self-contained: no scripts, fonts or network requests. Re-render with <code>trigger-scan report report.json</code>.</p></footer>
</main>
</body>
</html>
`;
}
