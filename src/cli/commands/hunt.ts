import type { Command } from 'commander';
import type { Io } from '../output.js';
import { addScanOptions, runScan, type ScanCliOptions } from './scan.js';

/** `hunt`: the scan's pipeline with discovery only (no pack triggers), the same options and reports. */
export function addHuntCommand(program: Command, io: Io, setCode: (c: number) => void): void {
  addScanOptions(
    program
      .command('hunt')
      .description('look for triggers no probe pack lists (target inversion, trigger reconstruction, leakage, drift against --base), each confirmed by the scan test'),
  ).action(async (dir: string, o: ScanCliOptions) => setCode(await runScan(dir, o, io, 'hunt')));
}
