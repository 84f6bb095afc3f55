/**
 * Divergences between next-token distributions given as raw logits. Loops run over subarray
 * views with no allocation: these are called once per (probe, position), millions of times.
 */

/**
 * Below e^-30 (~1e-13) of the largest term a probability cannot move a sum at float precision over
 * any real vocabulary, so such terms skip the exp/log calls that dominate these loops.
 */
const NEGLIGIBLE = -30;

/** log Σ exp(x), stable. */
export function logSumExp(x: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > max) max = x[i]!;
  if (max === -Infinity) return max;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - max;
    if (d > NEGLIGIBLE) s += Math.exp(d);
  }
  return max + Math.log(s);
}

/** Turn logits into log-probabilities in place (the caller owns the copy). */
export function logSoftmaxInPlace(x: Float32Array): Float32Array {
  const lse = logSumExp(x);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! - lse;
  return x;
}

/**
 * Jensen–Shannon divergence (natural log, so bounded by ln 2) between P given as log-probs
 * and Q given as raw logits. Terms with zero mass are skipped, so it never returns NaN.
 */
export function jsDivergence(logP: Float32Array, logitsQ: Float32Array): number {
  const lseQ = logSumExp(logitsQ);
  let js = 0;
  for (let i = 0; i < logP.length; i++) {
    const lp = logP[i]!;
    const lq = logitsQ[i]! - lseQ;
    if (lp < NEGLIGIBLE && lq < NEGLIGIBLE) continue;
    const p = Math.exp(lp);
    const q = Math.exp(lq);
    const lm = Math.log(0.5 * (p + q));
    // p·(log p − log m) with log p known exactly, so no division and one log per term.
    if (p > 0) js += 0.5 * p * (lp - lm);
    if (q > 0) js += 0.5 * q * (lq - lm);
  }
  // Rounding can push a zero divergence a hair below zero or a maximal one past ln 2.
  return Math.min(Math.LN2, Math.max(0, js));
}

/** Mean JS divergence over K positions: rows of logP (log-probs) against rows of logitsQ. */
export function meanJsDivergence(logP: Float32Array, logitsQ: Float32Array, vocab: number, rows: number): { mean: number; first: number } {
  if (rows === 0) return { mean: 0, first: 0 };
  let sum = 0;
  let first = 0;
  for (let k = 0; k < rows; k++) {
    const d = jsDivergence(logP.subarray(k * vocab, (k + 1) * vocab), logitsQ.subarray(k * vocab, (k + 1) * vocab));
    if (k === 0) first = d;
    sum += d;
  }
  return { mean: sum / rows, first };
}
