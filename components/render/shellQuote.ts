// Quoting for values baked into bash: every rendered word goes through here, so none is ever split or expanded.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One shell word: bare when it is plainly safe, otherwise single-quoted. */
export function shellQuote(word: string): string {
  if (word !== "" && SAFE.test(word)) return word;
  // Control characters (a newline above all) become escapes, so a quoted word is always one line of text.
  if (CONTROL.test(word)) return `$'${word.replace(/[\\']/g, (c) => `\\${c}`).replace(CONTROL_ALL, escape)}'`;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;
const CONTROL_ALL = /[\u0000-\u001f\u007f\u2028\u2029]/g;
const escape = (c: string) =>
  c.charCodeAt(0) > 0xff ? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;

/** A command line from argv words. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}
