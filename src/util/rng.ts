/**
 * Seeded randomness. Every consumer derives its own stream from (seed, labels...) so that adding
 * a trigger or a pack never shifts the random choices made for another one.
 */
export type Rng = () => number;

/** FNV-1a over the labels, then splitmix-style mixing: a 32-bit stream seed. */
function hashLabels(labels: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const l of labels) {
    const s = `${l}\u0000`;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  }
  return h >>> 0;
}

/** mulberry32: small, fast, and good enough for sampling controls and word positions. */
export function rngFor(...labels: (string | number)[]): Rng {
  let a = hashLabels(labels);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list');
  return items[Math.floor(rng() * items.length)]!;
}
