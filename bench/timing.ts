import os from 'node:os';

/** One-minute load average: other work on a shared machine slows every figure taken under it. */
export const load = () => os.loadavg()[0]!;

/** Wall seconds, CPU seconds of this process (all ORT threads included) and the load at the end. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ s: number; cpuS: number; load: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const value = await fn();
  const c = process.cpuUsage(c0);
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, cpuS: (c.user + c.system) / 1e6, load: load(), value };
}
