import { describe, expect, it } from 'vitest';
import { benjaminiHochberg, binomialUpperTail, logGamma } from '../../src/math/statistics.js';
import { jsDivergence, logSoftmaxInPlace, meanJsDivergence } from '../../src/math/divergence.js';

describe('binomialUpperTail', () => {
  it('matches exact sums', () => {
    // P(X >= 2), X ~ Bin(3, 0.5) = 4/8.
    expect(binomialUpperTail(2, 3, 0.5)).toBeCloseTo(0.5, 12);
    // P(X >= 1), X ~ Bin(40, 0.05) = 1 - 0.95^40.
    expect(binomialUpperTail(1, 40, 0.05)).toBeCloseTo(1 - 0.95 ** 40, 12);
    expect(binomialUpperTail(0, 10, 0.3)).toBe(1);
    expect(binomialUpperTail(11, 10, 0.3)).toBe(0);
  });
  it('keeps far tails accurate instead of rounding to zero', () => {
    const p = binomialUpperTail(40, 40, 1 / 11);
    expect(p).toBeGreaterThan(0);
    expect(Math.log10(p)).toBeCloseTo(-40 * Math.log10(11), 6);
  });
  it('logGamma agrees with factorials', () => {
    expect(Math.exp(logGamma(11))).toBeCloseTo(3628800, 3);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
  });
});

describe('benjaminiHochberg', () => {
  it('gives the textbook adjusted values and keeps them monotone', () => {
    const q = benjaminiHochberg([0.01, 0.04, 0.03, 0.005]);
    expect(q[3]).toBeCloseTo(0.02, 12);
    expect(q[0]).toBeCloseTo(0.02, 12);
    expect(q[2]).toBeCloseTo(0.04, 12);
    expect(q[1]).toBeCloseTo(0.04, 12);
    expect(benjaminiHochberg([0.9, 0.8])).toEqual([0.9, 0.9]);
  });
  it('weighted: each p divided by its weight before the step-up; unit weights are the plain procedure', () => {
    const p = [0.01, 0.04, 0.03, 0.005];
    expect(benjaminiHochberg(p, [1, 1, 1, 1])).toEqual(benjaminiHochberg(p));
    // Weights 2, 2/3, 2/3, 2/3 (mean 1): p/w = 0.005, 0.06, 0.045, 0.0075 -> q = 0.015, 0.06, 0.06, 0.015.
    const q = benjaminiHochberg(p, [2, 2 / 3, 2 / 3, 2 / 3]);
    expect(q[0]).toBeCloseTo(0.015, 12);
    expect(q[3]).toBeCloseTo(0.015, 12);
    expect(q[2]).toBeCloseTo(0.06, 12);
    expect(q[1]).toBeCloseTo(0.06, 12);
    // A zero weight is never rejected.
    expect(benjaminiHochberg([1e-9, 0.5], [0, 2])[0]).toBe(1);
  });
});

describe('Jensen–Shannon divergence', () => {
  it('is zero for equal distributions and ln 2 for disjoint ones', () => {
    const a = Float32Array.from([1, 2, 3]);
    expect(jsDivergence(logSoftmaxInPlace(a.slice()), a)).toBeCloseTo(0, 7);
    const p = logSoftmaxInPlace(Float32Array.from([0, -1e30, -1e30]));
    expect(jsDivergence(p, Float32Array.from([-1e30, 0, -1e30]))).toBeCloseTo(Math.LN2, 6);
  });
  it('is symmetric and matches a direct computation', () => {
    const x = Float32Array.from([0.3, -1.2, 2.0, 0.1]);
    const y = Float32Array.from([1.1, 0.4, -0.5, 0.0]);
    const sm = (v: Float32Array) => {
      const e = [...v].map(Math.exp);
      const s = e.reduce((a, b) => a + b);
      return e.map((t) => t / s);
    };
    const P = sm(x);
    const Q = sm(y);
    const direct = P.reduce((acc, p, i) => {
      const m = (p + Q[i]!) / 2;
      return acc + 0.5 * p * Math.log(p / m) + 0.5 * Q[i]! * Math.log(Q[i]! / m);
    }, 0);
    expect(jsDivergence(logSoftmaxInPlace(x.slice()), y)).toBeCloseTo(direct, 6);
    expect(jsDivergence(logSoftmaxInPlace(y.slice()), x)).toBeCloseTo(direct, 6);
  });
  it('averages over positions and reports the first', () => {
    const lp = logSoftmaxInPlace(Float32Array.from([0, 0])); // one row, uniform
    const both = new Float32Array(4);
    both.set(lp, 0);
    both.set(lp, 2);
    const q = Float32Array.from([0, 0, 0, -1e30]);
    const r = meanJsDivergence(both, q, 2, 2);
    expect(r.first).toBeCloseTo(0, 7);
    expect(r.mean).toBeGreaterThan(0);
  });
});

describe('Student t tail and the outlier test', async () => {
  const { studentTUpperTail, incompleteBeta, outlierTest } = await import('../../src/math/statistics.js');
  it('matches tabulated values', () => {
    // Critical values: t_{0.05, 9} = 1.833, t_{0.001, 9} = 4.297, t_{0.025, 1} = 12.706.
    expect(studentTUpperTail(1.833, 9)).toBeCloseTo(0.05, 3);
    expect(studentTUpperTail(4.297, 9)).toBeCloseTo(0.001, 4);
    expect(studentTUpperTail(12.706, 1)).toBeCloseTo(0.025, 4);
    expect(studentTUpperTail(0, 5)).toBeCloseTo(0.5, 12);
    expect(studentTUpperTail(-1.833, 9)).toBeCloseTo(0.95, 3);
    expect(incompleteBeta(0.5, 2, 2)).toBeCloseTo(0.5, 12);
  });
  it('calls an extreme value significant and a typical one not', () => {
    const sample = [1, 1.2, 0.9, 1.1, 0.95, 1.05, 1.0, 0.98, 1.02, 1.1];
    expect(outlierTest(3, sample, 0.01).p).toBeLessThan(1e-6);
    expect(outlierTest(1.05, sample, 0.01).p).toBeGreaterThan(0.2);
    // A degenerate sample does not make a tiny difference significant.
    expect(outlierTest(1.001, [1, 1, 1, 1], 0.05).p).toBeGreaterThan(0.4);
  });
});
