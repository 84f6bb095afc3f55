import path from 'node:path';
import type { Command } from 'commander';
import { OUTPUT_OPTIONS, REPORT_OPTIONS, type MergeCliOptions } from '../option-groups.js';
import { addGroups, pick } from '../options.js';
import type { Io } from '../output.js';
import { createLog } from '../log.js';
import { finishCommand, writeScanOutputs } from './scan.js';

/** `merge <shard folders...>`: the shards of one scan joined into its report. */
export function addMergeCommand(program: Command, io: Io, setCode: (c: number) => void): void {
  const cmd = program
    .command('merge')
    .description('join the results logs of the shards of one scan (--shard i/n) into its report: the same report.json as the unsharded scan')
    .argument('<shards...>', 'the shard report folders (or their results.log files)');
  addGroups(cmd, OUTPUT_OPTIONS, pick(REPORT_OPTIONS, 'format')).action(async (shards: string[], o: MergeCliOptions) => setCode(await runMerge(shards, o, io)));
}

export async function runMerge(shards: string[], o: MergeCliOptions, io: Io): Promise<number> {
  const log = createLog(io, o);
  const t0 = Date.now();
  const { mergeShards } = await import('../../pipeline/merge.js');
  const { prepareOutputFolder } = await import('../../report/output-folder.js');
  const { acquireLock } = await import('../../jobs/lock.js');
  // The shards are read (and checked) before anything is written.
  const merged = await mergeShards(shards);
  const out = await prepareOutputFolder(o.out);
  const lock = await acquireLock(out.dir, log.warn);
  try {
    log.emit({ event: 'start', command: 'merge', model: merged.report.model.dir, out: out.dir });
    for (const n of merged.notices) log.warn(n);
    if (merged.missing.length) log.warn(`shard(s) ${merged.missing.join(', ')} of ${merged.missing.length + shards.length} missing: the report is partial`);
    const files = await writeScanOutputs(merged.report, out.dir, o.format, undefined, path.basename(path.resolve(merged.report.model.dir)));
    return finishCommand(io, log, o, 'merge', merged.report.model.dir, merged.report, files, t0);
  } finally {
    await lock.release();
  }
}
