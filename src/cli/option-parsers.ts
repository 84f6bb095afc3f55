import { InvalidArgumentError } from 'commander';
import { PLACEMENTS, type Placement } from '../probes/schema.js';
import { parseSize } from '../run/memory.js';

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

/** `90m`, `1h30m`, `45s`, `2h`, `1d`; a bare number is seconds (as for timeout(1)). Milliseconds. */
export const duration = (name: string) => (v: string): number => {
  const t = v.trim();
  let ms = 0;
  if (/^\d+(\.\d+)?$/.test(t)) ms = Number(t) * 1000;
  else {
    const parts = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(t);
    if (!parts || !t) throw new InvalidArgumentError(`${name} must be a duration such as 45s, 90m, 1h30m or 2h`);
    const [d, h, m, s] = parts.slice(1).map((x) => Number(x ?? 0));
    ms = (((d! * 24 + h!) * 60 + m!) * 60 + s!) * 1000;
  }
  if (!(ms > 0)) throw new InvalidArgumentError(`${name} must be longer than 0`);
  return ms;
};

/** `--max-memory 8G`: bytes. */
export const size = (name: string) => (v: string): number => {
  const n = parseSize(v);
  if (n === undefined) throw new InvalidArgumentError(`${name} must be a size such as 512M, 8G or 1.5GiB`);
  return n;
};

/** `--shard i/n`: the i-th of n shards, counted from 0 (as JOB_COMPLETION_INDEX and matrix indices are). */
export const shard = (v: string): { index: number; count: number } => {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || !(count >= 1) || !(index < count)) throw new InvalidArgumentError(`must be i/n with 0 <= i < n (shards count from 0), got "${v}"`);
  return { index, count };
};
