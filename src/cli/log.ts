/**
 * What a long-running command tells its operator, in one of two forms: text for people (a progress
 * bar on a terminal, plain lines in a pipe or a CI log) or `--log-format json`, one JSON event per
 * line on stderr for log collectors (start, progress, finding, warning, end, error). `--quiet` keeps
 * only errors. Results (the verdict lines, `--json` documents) go to stdout and are not log events.
 */
import type { ScanReport } from '../report/schema.js';
import type { Io } from './output.js';
import { progressReporter } from './progress.js';

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export type LogEvent =
  | { event: 'start'; command: string; model?: string | undefined; models?: number | undefined; out: string }
  | { event: 'progress'; model: string; phase: string; done: number; total: number; elapsedMs: number }
  | { event: 'finding'; model: string; level: string; trigger: string; ref: string; placement: string; category: string | null; attackSuccess: number; qValue: number; source: string }
  | { event: 'warning'; message: string }
  | { event: 'end'; command: string; model?: string | undefined; verdict?: string | undefined; exitCode: number; files: string[]; durationMs: number }
  | { event: 'error'; exitCode: number; message: string };

export interface Log {
  readonly format: LogFormat;
  readonly quiet: boolean;
  /** Whether verdict lines go to stdout (not in quiet mode). */
  readonly results: boolean;
  emit(e: LogEvent): void;
  /** A progress callback for one model, or undefined when progress is off. */
  progress(model: string, enabled: boolean): ((done: number, total: number, phase: string) => void) | undefined;
  warn(message: string): void;
  /** The findings of a finished scan, as events (json) or nothing (text: the verdict lines show them). */
  findings(model: string, r: ScanReport): void;
}

export interface LogOptions {
  logFormat?: LogFormat | undefined;
  quiet?: boolean | undefined;
}

/** One JSON event, with the time it happened, as one line. */
export function jsonLine(e: LogEvent, now: Date = new Date()): string {
  return JSON.stringify({ time: now.toISOString(), ...e }) + '\n';
}

export function createLog(io: Io, o: LogOptions, now: () => number = Date.now): Log {
  const format = o.logFormat ?? 'text';
  const quiet = Boolean(o.quiet);
  const emit = (e: LogEvent) => {
    if (quiet && e.event !== 'error') return;
    if (format === 'json') io.err(jsonLine(e, new Date(now())));
    else if (e.event === 'warning') io.err(`trigger-scan: warning: ${e.message}\n`);
    else if (e.event === 'error') io.err(`trigger-scan: ${e.message}\n`);
  };
  return {
    format,
    quiet,
    results: !quiet,
    emit,
    warn: (message) => emit({ event: 'warning', message }),
    progress(model, enabled) {
      if (!enabled || quiet) return undefined;
      if (format === 'text') return progressReporter(io, model, now);
      // Same pace as the plain-text lines: a phase change or a tenth of the work.
      const start = now();
      let last = '';
      return (done, total, phase) => {
        const key = `${phase}|${Math.floor((total ? done / total : 1) * 10)}`;
        if (key === last) return;
        last = key;
        emit({ event: 'progress', model, phase, done, total, elapsedMs: now() - start });
      };
    },
    findings(model, r) {
      if (format !== 'json') return;
      for (const f of r.findings) {
        emit({ event: 'finding', model, level: f.level, trigger: f.trigger.text, ref: f.trigger.ref, placement: f.placement, category: f.category, attackSuccess: f.attackSuccess, qValue: f.qValue, source: f.source });
      }
    },
  };
}

/**
 * The log format asked for on a command line, read before commander parses it: an error in parsing
 * (an unknown option) must come out in the format the operator's collector expects.
 */
export function logFormatOf(argv: readonly string[]): LogFormat {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '--log-format=json' || (a === '--log-format' && argv[i + 1] === 'json')) return 'json';
  }
  return 'text';
}

/** Colour only for a person at a terminal: never in a pipe, never with NO_COLOR set or TERM=dumb. */
export function useColor(isTTY: boolean | undefined, env: Readonly<Record<string, string | undefined>>): boolean {
  return Boolean(isTTY) && !env.NO_COLOR && env.TERM !== 'dumb';
}

const SGR: Record<string, string> = { flagged: '1;31', suspicious: '1;33', clean: '1;32', partial: '1;35' };

/** The verdict word, coloured when the sink allows it. */
export function paintLevel(level: string, color: boolean | undefined): string {
  const word = level.toUpperCase();
  const code = SGR[level];
  return color && code ? `\u001b[${code}m${word}\u001b[0m` : word;
}
