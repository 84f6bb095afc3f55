/**
 * `trigger-scan hunt`: discovery only. The same prepare → discover → plan → run → score → report as
 * the scan, without the pack triggers: every finding is a string discovery proposed and the scan's
 * own test confirmed on baselines the search never saw.
 */
import type { ScanReport } from '../report/schema.js';
import { auditGate } from './prepare.js';
import { scanModel, type ScanOptions } from './scan.js';

export interface HuntOptions extends Omit<ScanOptions, 'discover' | 'packTriggers'> {
  /** A base model folder (the model this one was fine-tuned from): embedding drift seeds the search. */
  base?: string | undefined;
}

export async function huntModel(dir: string, o: HuntOptions = {}): Promise<ScanReport> {
  // Checked before any stage spends time: a base folder that cannot be audited fails now.
  if (o.base) await auditGate(o.base, undefined, { pins: { mode: 'off' } });
  return scanModel(dir, { ...o, packs: o.packs ?? ['baselines', 'detectors'], packTriggers: false, discover: true });
}
