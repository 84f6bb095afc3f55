import type { Command } from 'commander';
import { DISCOVERY_OPTIONS, JOB_OPTIONS, MODEL_OPTIONS, OUTPUT_OPTIONS, PROVENANCE_OPTIONS, REPORT_OPTIONS, RUN_OPTIONS, SCAN_OPTIONS, type ScanCliOptions } from '../option-groups.js';
import { addGroups } from '../options.js';
import type { Io } from '../output.js';
import { runScan } from './scan.js';

/** `hunt`: the scan's pipeline with discovery only (no pack triggers): the same options and reports. */
export function addHuntCommand(program: Command, io: Io, setCode: (c: number) => void): void {
  const cmd = program
    .command('hunt')
    .description('look for triggers no probe pack lists (target inversion, trigger reconstruction, leakage, drift against --base), each confirmed by the scan test')
    .argument('<model-dir>', 'model folder (Hugging Face layout: ONNX graph or safetensors, tokenizer.json, config.json)');
  // --no-discover makes no sense here; the rest is the scan's.
  const { discover: _off, ...discovery } = DISCOVERY_OPTIONS;
  addGroups(cmd, SCAN_OPTIONS, discovery, RUN_OPTIONS, JOB_OPTIONS, MODEL_OPTIONS, OUTPUT_OPTIONS, REPORT_OPTIONS, PROVENANCE_OPTIONS).action(async (dir: string, o: ScanCliOptions, c: Command) =>
    setCode(await runScan(dir, { ...o, discover: true }, io, 'hunt', c.getOptionValueSource('pin') === 'cli')),
  );
}
