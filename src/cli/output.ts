import { useColor } from './log.js';

/** Where the CLI writes; tests pass their own sinks to capture output without spawning. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  isTTY: boolean;
  /** Colour on stdout: a terminal, NO_COLOR unset (src/cli/log.ts). Absent: none. */
  color?: boolean;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  isTTY: Boolean(process.stderr.isTTY),
  color: useColor(process.stdout.isTTY, process.env),
};

export { formatBytes } from '../report/common.js';
