import { InvalidArgumentError } from 'commander';

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
