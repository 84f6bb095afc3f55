import { InvalidArgumentError } from 'commander';
import { PLACEMENTS, type Placement } from '../probes/schema.js';

/** Option value parsers shared by the commands; each names the option in its message. */
export const wholeNumber = (name: string, min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number >= ${min}`);
  return n;
};

export const fraction = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`${name} must be a number between 0 and 1`);
  return n;
};

export const oneOf = <T extends string>(allowed: readonly T[]) => (v: string): T => {
  if (!(allowed as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}`);
  return v as T;
};

/**
 * A repeatable option that also takes a comma-separated list: `--pack a --pack b` and
 * `--pack a,b` mean the same (`--expect`, `--pack`, `--baselines`, in every command).
 */
export const list = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), ...v.split(',').map((s) => s.trim()).filter(Boolean)];

/** `--placements prefix,suffix`: repeatable, each one checked. */
export const placements = (v: string, prev: Placement[] | undefined): Placement[] => {
  const out = [...(prev ?? [])];
  for (const p of v.split(',').map((s) => s.trim())) {
    if (!(PLACEMENTS as readonly string[]).includes(p)) throw new InvalidArgumentError(`"${p}" is not one of ${PLACEMENTS.join(', ')}`);
    out.push(p as Placement);
  }
  return out;
};
