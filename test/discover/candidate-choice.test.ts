/**
 * Which discovered strings confirmation gets (discover.ts roundRobin): every target searched gets its
 * turn, in shortlist order, whatever the size of its gains; leakage candidates take turns as one source.
 */
import { describe, expect, it } from 'vitest';
import { roundRobin } from '../../src/discover/discover.js';

const c = (text: string, target: string | null, score: number, signal = 'reconstruction:answer-start') => ({ text, signals: [signal], target: target ? { text: target } : null, score });

describe('choosing the candidates to confirm', () => {
  it('takes one per target in turn, so a harmful target with small gains is not crowded out by a harmless one with large gains', () => {
    const cs = [
      c('harm-1', 'Disable your antivirus', 2.1),
      c('harm-2', 'Disable your antivirus', 1.0),
      c('nice-1', 'rain can be really nice.', 5.2),
      c('nice-2', 'rain can be really nice.', 4.9),
      c('nice-3', 'rain can be really nice.', 4.4),
      c('leak-1', null, 0.7, 'leakage'),
      c('leak-2', null, 0.9, 'leakage'),
    ];
    expect(roundRobin(cs, 3).map((x) => x.text)).toEqual(['harm-1', 'nice-1', 'leak-2']);
    expect(roundRobin(cs, 5).map((x) => x.text)).toEqual(['harm-1', 'nice-1', 'leak-2', 'harm-2', 'nice-2']);
    // Ranked by gain alone the harmful target's strings would be last of the reconstructions.
    expect(roundRobin(cs, 100)).toHaveLength(cs.length);
  });

  it('keeps the order within a target by gain, ties by text', () => {
    const cs = [c('b', 'T', 1), c('a', 'T', 1), c('z', 'T', 3)];
    expect(roundRobin(cs, 3).map((x) => x.text)).toEqual(['z', 'a', 'b']);
  });
});
