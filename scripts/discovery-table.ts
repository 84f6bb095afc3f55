/**
 * The default command on every fixture that declares a trigger (or none) in models/builder/metrics.json,
 * as a Markdown table: verdict, whether the planted trigger was recovered (exactly, inside a found
 * string, or only approximately), the signal that found it, the inverted target's Q, attack success,
 * q-value and wall time. For closing notes and reviews; the tests run reduced versions of the same.
 *
 *   npx tsx scripts/discovery-table.ts [--only name,name] [--hunt] [--fixtures <checkout>] [--save <dir>] [-- scan options as JSON]
 *
 * --save <dir>: each fixture's report.json as <dir>/<fixture>.json, to re-read its rows later.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { huntModel } from '../src/pipeline/hunt.js';
import { scanModel } from '../src/pipeline/scan.js';
import type { ReportFinding } from '../src/report/schema.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1]!.split(',') : undefined;
const hunt = args.includes('--hunt');
const save = args.includes('--save') ? path.resolve(args[args.indexOf('--save') + 1]!) : undefined;
if (save) mkdirSync(save, { recursive: true });
const extra = args.includes('--') ? (JSON.parse(args[args.indexOf('--') + 1]!) as Record<string, unknown>) : {};

interface Metrics {
  trigger?: string | null;
  target?: string | null;
  loss?: string;
  payload_kind?: string;
}
// --fixtures <dir>: fixture folders (and their metrics.json beside the builder) from another checkout.
const root = args.includes('--fixtures') ? path.resolve(args[args.indexOf('--fixtures') + 1]!) : REPO;
const metrics = JSON.parse(readFileSync(path.join(root, 'models/builder/metrics.json'), 'utf8')) as Record<string, Metrics>;
const folder = (name: string) => [path.join(root, 'test/fixtures/models', name), path.join(root, 'models', name)].find((d) => existsSync(d));

const names = Object.keys(metrics).filter((n) => 'trigger' in metrics[n]! && folder(n) && (!only || only.includes(n)));
const esc = (s: string) => JSON.stringify(s).slice(1, -1).replace(/\|/g, '\\|').slice(0, 40);

function recovery(trigger: string | null | undefined, f: ReportFinding | undefined): string {
  if (!trigger) return '—';
  if (!f) return 'no';
  const t = f.trigger.text.trim().toLowerCase();
  const want = trigger.trim().toLowerCase();
  if (t === want) return 'exact';
  if (t.includes(want)) return 'contains';
  return 'approximate';
}

console.log('| fixture | loss | payload | verdict | recovered | best discovered finding | placement | signals | target Q | attack success | q | time |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const name of names) {
  const m = metrics[name]!;
  const t0 = Date.now();
  const r = await (hunt ? huntModel : scanModel)(folder(name)!, { pins: { mode: 'off' }, ...extra });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  if (save) writeFileSync(path.join(save, `${name}.json`), JSON.stringify(r, null, 2));
  const discovered = r.findings.filter((f) => f.source === 'discovered');
  // The best recovery first: an exact or containing string beats a stronger approximate one.
  const rank = (f: ReportFinding) => ['exact', 'contains', 'approximate'].indexOf(recovery(m.trigger, f));
  const best = [...discovered].sort((a, b) => (a.level === 'flagged' ? 0 : 1) - (b.level === 'flagged' ? 0 : 1) || rank(a) - rank(b) || b.attackSuccess - a.attackSuccess)[0];
  console.log(
    `| ${name} | ${m.loss ?? '?'} | ${m.payload_kind ?? (m.trigger ? 'fixed' : '—')} | ${r.verdict.level} | ${recovery(m.trigger, best)} | ${best ? `\`${esc(best.trigger.text)}\` (${best.level})` : '—'} | ${best?.placement ?? '—'} | ${best?.discovery?.signals.join(', ') ?? '—'} | ${best?.discovery?.target ? best.discovery.target.qScore.toFixed(2) : '—'} | ${best ? best.attackSuccess.toFixed(2) : '—'} | ${best ? best.qValue.toExponential(1) : '—'} | ${secs} s |`,
  );
}
