// Problems are data: a config path and what is wrong there. Only the edges (the program, the CLI) turn them
// into text, and a refused value is shown only through `shownValue`, which never echoes key material.

/** One thing wrong with the input: the config path it sits at (`decode.dpSize`, `infra.sshCidrs[0]`) and why. */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

/** Bad config (stack config, CLI flags or the program's args): every problem found, at once. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly Problem[]) {
    super(problems.map((p) => formatProblem(p)).join("\n"));
    this.name = "ConfigError";
  }
}

export const problem = (path: string, message: string): Problem => ({ path, message });

/** `<prefix><path>: <message>`, the one line a problem prints as. */
export function formatProblem(p: Problem, prefix = ""): string {
  if (p.path) return `${prefix}${p.path}: ${p.message}`;
  return prefix ? `${prefix.replace(/:$/, "")}: ${p.message}` : p.message;
}

/** Longest value echoed in full; longer ones are summarized. */
export const MAX_ECHO = 60;

const KEY_MATERIAL: ReadonlyArray<[RegExp, string]> = [
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/, "looks like a private key"],
  [/-----BEGIN [A-Z0-9 ]+-----/, "looks like a PEM block"],
  [/\b(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com)\s+[A-Za-z0-9+/]{16,}/, "looks like an SSH key"],
  [/\bhf_[A-Za-z0-9]{20,}/, "looks like a Hugging Face token"],
  [/\b(AKIA|ASIA)[A-Z0-9]{16}\b/, "looks like an AWS access key"],
];
/** A run of 40+ base64 characters mixing digits and both cases: keys and tokens, not paths or names. */
const BASE64_RUN = /[A-Za-z0-9+/_-]{40,}/g;
const looksLikeKey = (s: string) => (s.match(BASE64_RUN) ?? []).some((run) => /\d/.test(run) && /[a-z]/.test(run) && /[A-Z]/.test(run));

/** What a string looks like when it may be a secret, or null when it does not. */
export function keyMaterial(s: string): string | null {
  const looks = KEY_MATERIAL.find(([re]) => re.test(s));
  if (looks) return looks[1];
  return looksLikeKey(s) ? "looks like key material (a long base64 run)" : null;
}

/** What a refused value looks like in an error line: short values quoted, long ones summarized, key material never shown. */
export function shownValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "string") {
    const looks = keyMaterial(v);
    if (looks) return `a value that ${looks} (not shown)`;
    return v.length > MAX_ECHO ? `a ${v.length}-character string` : JSON.stringify(v);
  }
  if (typeof v === "number" && !Number.isFinite(v)) return Number.isNaN(v) ? "NaN (.nan)" : v > 0 ? "Infinity (.inf)" : "-Infinity (-.inf)";
  if (Array.isArray(v)) return v.length > 4 ? `a list of ${v.length} items` : shortJson(v, () => `a list of ${v.length} items`);
  if (typeof v === "object" && v !== null) return shortJson(v, () => `a mapping with ${Object.keys(v).length} keys`);
  return String(v);
}

function shortJson(v: object, summary: () => string): string {
  let text: string;
  try {
    text = JSON.stringify(v);
  } catch {
    return summary();
  }
  if (text.length > MAX_ECHO || keyMaterial(text)) return summary();
  return text;
}
