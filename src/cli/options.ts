import { Option, type Command } from 'commander';

/**
 * Command-line options declared once: flags, help, value parser and default in one table per group
 * (model, provenance, output, run budgets, scan settings). Commands add the groups they take, and
 * the type of a command's options is derived from the same tables (`Values<typeof GROUP>`), so the
 * types cannot drift from the `.option()` calls.
 */
export interface Spec<T, Always extends boolean = boolean> {
  readonly flags: string;
  readonly description: string;
  // Method syntax: checked bivariantly, so a table of specs of different T is one Group.
  parse?(value: string, previous: T | undefined): T;
  readonly defaultValue?: T | undefined;
  /** Type-level only: whether the value is always present (a default, or a negatable flag). */
  readonly always?: Always;
}

export type Group = Readonly<Record<string, Spec<unknown>>>;

/** The parsed values of a group, keyed as commander names them (`--max-new-tokens` → maxNewTokens). */
export type Values<G extends Group> = {
  -readonly [K in keyof G]: G[K] extends Spec<infer T, infer A> ? (A extends true ? T : T | undefined) : never;
};

/** `--name <value>`, parsed; absent unless given a default. */
export function value<T>(flags: string, description: string, parse: (v: string, prev: T | undefined) => T): Spec<T, false>;
export function value<T>(flags: string, description: string, parse: (v: string, prev: T | undefined) => T, defaultValue: T): Spec<T, true>;
export function value<T>(flags: string, description: string, parse: (v: string, prev: T | undefined) => T, defaultValue?: T): Spec<T> {
  return { flags, description, parse, defaultValue };
}

/** `--name <text>`, kept as written. */
export function text(flags: string, description: string): Spec<string, false>;
export function text(flags: string, description: string, defaultValue: string): Spec<string, true>;
export function text(flags: string, description: string, defaultValue?: string): Spec<string> {
  return { flags, description, defaultValue };
}

/** `--name`: true when given. */
export const flag = (flags: string, description: string): Spec<boolean, false> => ({ flags, description });

/** `--no-name`: true unless given. */
export const negatable = (flags: string, description: string): Spec<boolean, true> => ({ flags, description });

/** The options of `group` named in `keys`, for a command that takes only some of them. */
export function pick<G extends Group, K extends keyof G>(group: G, ...keys: K[]): Pick<G, K> {
  return Object.fromEntries(keys.map((k) => [k, group[k]])) as Pick<G, K>;
}

/** Add every option of the groups to `cmd`. */
export function addGroups(cmd: Command, ...groups: Group[]): Command {
  for (const group of groups) {
    for (const [key, spec] of Object.entries(group)) {
      const opt = new Option(spec.flags, spec.description);
      if (spec.parse) opt.argParser(spec.parse as (v: string, prev: unknown) => unknown);
      if (spec.defaultValue !== undefined) opt.default(spec.defaultValue);
      // The table key is the name the value arrives under; a mismatch would leave it undefined.
      if (opt.attributeName() !== key) throw new Error(`option table: ${spec.flags} arrives as "${opt.attributeName()}", not "${key}"`);
      cmd.addOption(opt);
    }
  }
  return cmd;
}
