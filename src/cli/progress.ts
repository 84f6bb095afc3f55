import type { Io } from './output.js';

function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * A progress bar with an ETA on a terminal; on a pipe or in CI, one plain line per phase and per
 * tenth of the work, so logs stay readable.
 */
export function progressReporter(io: Io, label: string, now: () => number = Date.now): (done: number, total: number, phase: string) => void {
  const start = now();
  let lastPhase = '';
  let lastTenth = -1;
  let lastDraw = 0;
  return (done, total, phase) => {
    const frac = total ? Math.min(1, done / total) : 1;
    const elapsed = now() - start;
    const eta = frac > 0 ? (elapsed / frac) * (1 - frac) : NaN;
    const etaText = Number.isFinite(eta) ? `ETA ${clock(eta)}` : 'ETA --:--';
    if (io.isTTY) {
      if (now() - lastDraw < 100 && done < total) return;
      lastDraw = now();
      const width = 28;
      const filled = Math.round(frac * width);
      io.err(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}% ${phase.padEnd(18)} ${etaText}   `);
      if (done >= total) io.err('\n');
      return;
    }
    const tenth = Math.floor(frac * 10);
    if (phase !== lastPhase || tenth !== lastTenth) {
      io.err(`${label}: ${Math.round(frac * 100)}% ${phase} (${done}/${total}, ${clock(elapsed)} elapsed, ${etaText})\n`);
      lastPhase = phase;
      lastTenth = tenth;
    }
  };
}
