/**
 * Characters a reader cannot see, as candidate triggers for the reconstruction sweep. A byte-level
 * tokenizer splits most of them into byte pieces that decode to nothing printable on their own, so
 * the vocabulary sweep (whole tokens only) can never propose one; each is tried whole instead. The
 * set is Unicode's, not a list of known triggers: every format character (General Category Cf:
 * zero-width and joiner characters, bidi controls, invisible operators, tag characters), the
 * variation selectors, the Hangul and Braille blanks, and the space characters other than U+0020.
 */
let cached: string[] | undefined;

const EXTRA = [
  // Variation selectors 1–16 (the supplement's 240 are left out: they only follow a base character).
  ...Array.from({ length: 16 }, (_, i) => 0xfe00 + i),
  // Blanks that render as nothing: Hangul fillers, the Braille blank.
  0x115f, 0x1160, 0x3164, 0xffa0, 0x2800,
];

export function invisibleCharacters(): string[] {
  if (cached) return cached;
  const out: string[] = [];
  const cf = /^\p{Cf}$/u;
  const space = /^\p{Zs}$/u;
  for (let cp = 0x80; cp <= 0xe007f; cp++) {
    // Surrogates are not characters; the private-use planes hold nothing standard.
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    if (cf.test(ch) || space.test(ch)) out.push(ch);
  }
  for (const cp of EXTRA) out.push(String.fromCodePoint(cp));
  return (cached = [...new Set(out)]);
}
