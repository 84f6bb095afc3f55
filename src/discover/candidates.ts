/** A string proposed as a trigger, with the signals that proposed it and how strongly. */
export interface Candidate {
  text: string;
  signals: string[];
  score: number;
}

/** Merge candidates from several signals: the same string keeps every signal that found it. */
export function mergeCandidates(lists: readonly Candidate[][], limit: number): Candidate[] {
  const byText = new Map<string, Candidate>();
  // Round-robin across signals so that one prolific signal cannot crowd out the others.
  const maxLen = Math.max(0, ...lists.map((l) => l.length));
  for (let i = 0; i < maxLen; i++) {
    for (const list of lists) {
      const c = list[i];
      if (!c || !c.text.trim() && !/[^\x00-\x7f]/.test(c.text)) continue;
      const prev = byText.get(c.text);
      if (prev) {
        for (const s of c.signals) if (!prev.signals.includes(s)) prev.signals.push(s);
        prev.score = Math.max(prev.score, c.score);
      } else {
        byText.set(c.text, { ...c, signals: [...c.signals] });
      }
    }
  }
  return [...byText.values()].slice(0, limit);
}
