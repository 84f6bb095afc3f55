import { UserError } from '../../errors.js';

/**
 * Bounds on what config.json may claim. They are far above any published model and exist so that
 * a hostile config (`num_hidden_layers: 1e9`) is refused before anything loops over it; the
 * tensors must then agree with every number exactly.
 */
export const LIMITS = {
  layers: 1024,
  width: 1 << 18,
  heads: 4096,
  headDim: 4096,
  vocab: 1 << 23,
  positions: 1 << 24,
} as const;

type Json = Record<string, unknown>;

/** Typed, validated reads of config.json; every problem is one line naming the file and the key. */
export class ConfigReader {
  constructor(
    readonly raw: Json,
    readonly file: string,
    /** Where this object sits in config.json (`rope_scaling.`), for messages. */
    private readonly at = '',
  ) {}

  fail(key: string, problem: string): never {
    throw new UserError('E_CONFIG', `${this.file}: ${this.at}${key} ${problem}`, this.file);
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.raw, key) && this.raw[key] !== null && this.raw[key] !== undefined;
  }

  private show(v: unknown): string {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 60 ? `${s.slice(0, 60)}…` : s;
  }

  /** A whole number in [min, max]; `fallback` when the key is absent or null. */
  int(key: string, max: number, opts: { min?: number; fallback?: number } = {}): number {
    const min = opts.min ?? 1;
    if (!this.has(key)) {
      if (opts.fallback !== undefined) return opts.fallback;
      this.fail(key, 'is missing');
    }
    const v = this.raw[key];
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(key, `is ${this.show(v)}; expected a whole number`);
    if (v < min || v > max) this.fail(key, `is ${v}; expected ${min} to ${max}`);
    return v;
  }

  optInt(key: string, max: number, min = 1): number | undefined {
    return this.has(key) ? this.int(key, max, { min }) : undefined;
  }

  /** A finite number, positive unless `allowZero`. */
  num(key: string, fallback?: number, opts: { allowZero?: boolean; max?: number } = {}): number {
    if (!this.has(key)) {
      if (fallback !== undefined) return fallback;
      this.fail(key, 'is missing');
    }
    const v = this.raw[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `is ${this.show(v)}; expected a number`);
    if (v < 0 || (v === 0 && !opts.allowZero)) this.fail(key, `is ${v}; expected a positive number`);
    if (opts.max !== undefined && v > opts.max) this.fail(key, `is ${v}; expected at most ${opts.max}`);
    return v;
  }

  optNum(key: string): number | undefined {
    return this.has(key) ? this.num(key) : undefined;
  }

  bool(key: string, fallback: boolean): boolean {
    if (!this.has(key)) return fallback;
    const v = this.raw[key];
    if (typeof v !== 'boolean') this.fail(key, `is ${this.show(v)}; expected true or false`);
    return v;
  }

  str(key: string, fallback?: string): string {
    if (!this.has(key)) {
      if (fallback !== undefined) return fallback;
      this.fail(key, 'is missing');
    }
    const v = this.raw[key];
    if (typeof v !== 'string') this.fail(key, `is ${this.show(v)}; expected a string`);
    return v;
  }

  /** A nested object (rope_scaling), read with the same checks under `key.`. */
  obj(key: string): ConfigReader | undefined {
    if (!this.has(key)) return undefined;
    const v = this.raw[key];
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(key, `is ${this.show(v)}; expected an object`);
    return new ConfigReader(v as Json, this.file, `${this.at}${key}.`);
  }

  /** A list of strings (layer_types). */
  strings(key: string): string[] | undefined {
    if (!this.has(key)) return undefined;
    const v = this.raw[key];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) this.fail(key, 'must be a list of strings');
    return v as string[];
  }

}
