import path from 'node:path';
import type { Command } from 'commander';
import { exitCodeFor } from '../exit-codes.js';
import { MODEL_OPTIONS, OUTPUT_OPTIONS, PIN_OPTIONS, RUN_OPTIONS, type ModelCliOptions, type OutputCliOptions, type PinCliOptions, type RunCliOptions } from '../option-groups.js';
import { wholeNumber } from '../option-parsers.js';
import { addGroups, text, value, type Values } from '../options.js';
import type { HuntReport } from '../../hunt/hunt.js';
import { visible } from '../../report/markdown.js';
import type { Io } from '../output.js';
import { progressReporter } from '../progress.js';

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

/** Hunt-only options: what to look for triggers with, and for how long. */
const HUNT_OPTIONS = {
  base: text('--base <dir>', 'base model folder (model.safetensors) for the weight-drift signal'),
  budget: value('--budget <minutes>', 'time budget for proposing candidates', wholeNumber('--budget', 1)),
  candidates: value('--candidates <n>', 'candidates to confirm', wholeNumber('--candidates', 1)),
  samples: value('--samples <n>', 'leakage samples', wholeNumber('--samples', 10)),
};

type HuntCliOptions = Values<typeof HUNT_OPTIONS> & ModelCliOptions & RunCliOptions & PinCliOptions & OutputCliOptions;

export function addHuntCommand(program: Command, io: Io, setCode: (c: number) => void): void {
  const cmd = program
    .command('hunt')
    .description('look for triggers no probe pack lists (leakage sampling, vocabulary sweep, weight drift), confirmed by the scan test')
    .argument('<model-dir>');
  addGroups(cmd, HUNT_OPTIONS, RUN_OPTIONS, MODEL_OPTIONS, PIN_OPTIONS, OUTPUT_OPTIONS).action(async (dir: string, o: HuntCliOptions) => {
    const { prepareOutputFolder, writeAtomic } = await import('../../report/output-folder.js');
    const { defaultPinFile } = await import('../../provenance/integrity/pins.js');
    const out = await prepareOutputFolder(o.out);
    const { huntModel } = await import('../../hunt/hunt.js');
    let r;
    try {
      r = await huntModel(dir, {
        base: o.base, budgetMinutes: o.budget, candidates: o.candidates, samples: o.samples, seed: o.seed, threads: o.threads,
        batchSize: o.batchSize, graph: o.graph, fromSafetensors: o.fromSafetensors, pins: { file: o.pins ?? defaultPinFile(), mode: o.pin, name: o.pinName },
        onProgress: o.progress ? progressReporter(io, 'hunt') : undefined,
      });
    } catch (err) {
      await out.discard();
      throw err;
    }
    const json = path.join(out.dir, 'hunt.json');
    const md = path.join(out.dir, 'hunt.md');
    await writeAtomic(json, JSON.stringify(r, null, 2) + '\n');
    await writeAtomic(md, renderHuntMarkdown(r));
    if (o.json) io.out(JSON.stringify(r, null, 2) + '\n');
    else {
      io.out(`${r.verdict.level.toUpperCase()}: ${r.verdict.summary}\n`);
      for (const x of r.recovered) io.out(`  ${x.level.padEnd(10)} ${JSON.stringify(x.trigger)} @${x.placement} -> ${JSON.stringify(x.target.slice(0, 50))}  ${Math.round(x.attackSuccess * 100)}%  q=${x.qValue.toExponential(1)}  [${x.signals.join(', ')}]\n`);
      io.out(`reports: ${path.relative(process.cwd(), json)}, ${path.relative(process.cwd(), md)}\n`);
    }
    setCode(exitCodeFor(r.verdict.level, o.failOn));
  });
}
