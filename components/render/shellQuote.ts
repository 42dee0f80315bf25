// Quoting for values baked into bash: every rendered word goes through here, so none is ever split or expanded.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One shell word: bare when it is plainly safe, otherwise single-quoted. */
export function shellQuote(word: string): string {
  if (word !== "" && SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command line from argv words. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}
