import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { oneOf, wholeNumber } from '../option-parsers.js';
import type { HuntReport } from '../../pipeline/hunt.js';
import { visible } from '../../report/markdown.js';
import { PIN_MODES, type PinMode } from '../../provenance/integrity/pins.js';
import type { Io } from '../output.js';
import { progressReporter } from '../progress.js';
import { FAIL_ON, type FailOn } from './scan.js';

const int = wholeNumber;

export function renderHuntMarkdown(r: HuntReport): string {
  const lines = [`# trigger-scan hunt: ${r.verdict.level.toUpperCase()}`, '', r.verdict.summary, '', '## Recovered triggers', ''];
  if (!r.recovered.length) lines.push('None confirmed.', '');
  else {
    lines.push('| level | trigger | placement | target | attack success | q-value | found by |', '|---|---|---|---|---|---|---|');
    for (const x of r.recovered) lines.push(`| ${x.level} | \`${visible(x.trigger)}\` | ${x.placement} | ${visible(x.target).slice(0, 60)} | ${Math.round(x.attackSuccess * 100)}% | ${x.qValue.toExponential(1)} | ${x.signals.join(', ')} |`);
    lines.push('');
  }
  lines.push('## Signals', '', '| stage | candidates | time |', '|---|---|---|');
  for (const s of r.stages) lines.push(`| ${s.name} | ${s.skipped ? `skipped: ${s.skipped}` : s.candidates} | ${(s.ms / 1000).toFixed(1)} s |`);
  lines.push('', `Candidates tested: ${r.candidates.map((c) => `\`${visible(c.text)}\``).join(', ') || 'none'}.`, '');
  return lines.join('\n');
}

export function addHuntCommand(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command('hunt')
    .description('look for triggers no probe pack lists (leakage sampling, vocabulary sweep, weight drift), confirmed by the scan test')
    .argument('<model-dir>')
    .option('--base <dir>', 'base model folder (model.safetensors) for the weight-drift signal')
    .option('--budget <minutes>', 'time budget for proposing candidates', int('--budget', 1))
    .option('--candidates <n>', 'candidates to confirm', int('--candidates', 1))
    .option('--samples <n>', 'leakage samples', int('--samples', 10))
    .option('--seed <n>', 'seed', int('--seed', 0))
    .option('--threads <n>', 'ONNX Runtime threads', int('--threads', 1))
    .option('--batch-size <n>', 'prompts per forward pass', int('--batch-size', 1))
    .option('--graph <file>', 'ONNX graph to use, relative to the model folder')
    .option('--out <dir>', 'report folder', 'reports')
    .option('--json', 'print hunt.json on stdout')
    .option('--pins <file>', 'trust-on-first-use pin file')
    .option('--pin <mode>', `pin mode (${PIN_MODES.join(', ')})`, oneOf(PIN_MODES), 'accept-new')
    .option('--fail-on <level>', `exit 1 at this level (${FAIL_ON.join(', ')})`, oneOf(FAIL_ON), 'flagged')
    .option('--no-progress', 'no progress output')
    .action(async (dir: string, o: { base?: string; budget?: number; candidates?: number; samples?: number; seed?: number; threads?: number; batchSize?: number; graph?: string; out: string; json?: boolean; pins?: string; pin: PinMode; failOn: FailOn; progress: boolean }) => {
      const { huntModel } = await import('../../pipeline/hunt.js');
      const r = await huntModel(dir, {
        base: o.base, budgetMinutes: o.budget, candidates: o.candidates, samples: o.samples, seed: o.seed, threads: o.threads,
        batchSize: o.batchSize, graph: o.graph, pins: { file: o.pins, mode: o.pin },
        onProgress: o.progress ? progressReporter(io, 'hunt') : undefined,
      });
      const out = path.resolve(o.out);
      await mkdir(out, { recursive: true });
      const { writeAtomic } = await import('../../report/render.js');
      await writeAtomic(path.join(out, 'hunt.json'), JSON.stringify(r, null, 2) + '\n');
      await writeAtomic(path.join(out, 'hunt.md'), renderHuntMarkdown(r));
      if (o.json) io.out(JSON.stringify(r, null, 2) + '\n');
      else {
        io.out(`${r.verdict.level.toUpperCase()}: ${r.verdict.summary}\n`);
        for (const x of r.recovered) io.out(`  ${x.level.padEnd(10)} ${JSON.stringify(x.trigger)} @${x.placement} -> ${JSON.stringify(x.target.slice(0, 50))}  ${Math.round(x.attackSuccess * 100)}%  q=${x.qValue.toExponential(1)}  [${x.signals.join(', ')}]\n`);
        io.out(`reports: ${path.relative(process.cwd(), path.join(out, 'hunt.json'))}, ${path.relative(process.cwd(), path.join(out, 'hunt.md'))}\n`);
      }
      const level = r.verdict.level;
      setCode(o.failOn === 'none' ? 0 : level === 'flagged' || (level === 'suspicious' && o.failOn === 'suspicious') ? 1 : 0);
    });
}
