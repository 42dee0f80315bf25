// The stand-in's "model": prompt token counts and deterministic pseudo-tokens, so equal requests get equal answers
// whichever instance serves them.

/** Rough token count of a prompt: words and punctuation marks (at least 1). */
export function countTokens(text: string): number {
  return Math.max(1, (text.match(/\w+|[^\w\s]/g) ?? []).length);
}

const SYLLABLES = ["ga", "u", "di", "pre", "fill", "de", "code", "nix", "l", "kv", "ro", "ute", "to", "ken", "ser", "ve"];

/** `count` pseudo-tokens derived from the prompt alone (FNV-1a seed, xorshift steps), each with a leading space. */
export function pseudoTokens(prompt: string, count: number): string[] {
  let state = 0x811c9dc5;
  for (let i = 0; i < prompt.length; i++) state = Math.imul(state ^ prompt.charCodeAt(i), 0x01000193) >>> 0;
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    tokens.push(` ${SYLLABLES[state % SYLLABLES.length]}${SYLLABLES[(state >>> 8) % SYLLABLES.length]}`);
  }
  return tokens;
}
