// `vllm serve` argv parsing after vLLM's FlexibleArgumentParser (argparse underneath), over the declared flag table.
import { SERVE_FLAGS, type ServeFlag, type ValueType } from "./vllmServeFlags";

/** A value as argparse would store it: a string, a list of strings, true/false for toggles and switches. */
export type OptionValue = string | boolean | readonly string[];

export interface ParsedServeArgs {
  readonly model: string;
  /** Values of the options given, keyed by the flag's first spelling ("--max-num-seqs"). */
  readonly options: ReadonlyMap<string, OptionValue>;
}

/** A command line argparse would refuse (vLLM exits 2 with `<prog>: error: <message>`). */
export class ServeArgError extends Error {
  constructor(
    readonly prog: string,
    message: string,
  ) {
    super(message);
  }
}

/** ModelConfig.model's default in vLLM 0.21.0, used when no model is given. */
const DEFAULT_MODEL = "Qwen/Qwen3-0.6B";

const FLAG_BY_NAME = new Map<string, ServeFlag>(SERVE_FLAGS.flatMap((f) => f.names.map((n) => [n, f] as const)));

/** argparse treats `-5` and `-.5` as values, not options, when no option looks like a negative number. */
function looksLikeOption(token: string): boolean {
  return token.startsWith("-") && token !== "-" && !/^-\d+$|^-\d*\.\d+$/.test(token);
}

/**
 * FlexibleArgumentParser's rewriting: `--max_num_seqs=3` is `--max-num-seqs=3` (underscores in the name only);
 * `-O3`, `-O=3` and `-O 3` are `--optimization-level 3`.
 */
function normalize(argv: readonly string[]): string[] {
  return argv.flatMap((token, i) => {
    if (token.startsWith("-O") && token !== "-O") return ["--optimization-level", token[2] === "=" ? token.slice(3) : token.slice(2)];
    if (token === "-O" && ["0", "1", "2", "3"].includes(argv[i + 1] ?? "")) return ["--optimization-level"];
    if (!token.startsWith("--")) return [token];
    const eq = token.indexOf("=");
    const name = eq < 0 ? token : token.slice(0, eq);
    return [name.replace(/_/g, "-") + (eq < 0 ? "" : token.slice(eq))];
  });
}

function displayName(flag: ServeFlag): string {
  return flag.names.join("/");
}

function pyRepr(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

const HUMAN_INT = /^\s*(\d+(?:\.\d+)?)([kmgtKMGT]?)\s*$/;
const DECIMAL_SUFFIX: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12 };

/** vLLM's human_readable_int: `8192`, `8k` (decimal, may have a fraction), `8K` (binary, whole numbers only). */
function isHumanInt(value: string): boolean {
  if (/^\s*[+-]?\d+\s*$/.test(value)) return true;
  const [, number = "", suffix = ""] = HUMAN_INT.exec(value) ?? [];
  if (suffix === "") return false;
  const decimal = DECIMAL_SUFFIX[suffix];
  return decimal === undefined ? /^\d+$/.test(number) : Number.isInteger(Number(number) * decimal);
}

function typeAccepts(type: ValueType, value: string): boolean {
  switch (type) {
    case "str":
    case "json-or-str":
      return true;
    case "int":
      return /^\s*[+-]?\d+(?:_\d+)*\s*$/.test(value);
    case "human-int":
      return isHumanInt(value);
    case "int-or-auto":
      return value.trim().toLowerCase() === "auto" || isHumanInt(value);
    case "float":
      return /^\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)\s*$/i.test(value);
    case "json":
      try {
        JSON.parse(value);
        return true;
      } catch {
        return false;
      }
  }
}

const TYPE_WORD: Record<ValueType, string> = {
  str: "str",
  "json-or-str": "str",
  int: "int",
  "human-int": "human_readable_int",
  "int-or-auto": "human_readable_int_or_auto",
  float: "float",
  json: "JSON",
};

/** Check one value as argparse does: its type first, then its choices. (Secret-bearing flags are plain strings, so never echoed.) */
function checkValue(flag: ServeFlag, value: string): void {
  const type = flag.type ?? "str";
  if (!typeAccepts(type, value))
    throw new ServeArgError("vllm serve", `argument ${displayName(flag)}: invalid ${TYPE_WORD[type]} value: ${pyRepr(value)}`);
  if (flag.choices && !flag.choices.includes(value)) {
    throw new ServeArgError(
      "vllm serve",
      `argument ${displayName(flag)}: invalid choice: ${pyRepr(value)} (choose from ${flag.choices.map(pyRepr).join(", ")})`,
    );
  }
}

/**
 * Parse the words after `vllm serve`. Stricter than vLLM in one way, on purpose: argparse there accepts any
 * unambiguous prefix of a flag (`--data-parallel-addr`); here only declared spellings are accepted.
 */
export function parseServeArgs(argv: readonly string[]): ParsedServeArgs {
  const options = new Map<string, OptionValue>();
  const positionals: string[] = [];
  const unknown: string[] = [];
  const tokens = normalize(argv);
  let i = 0;
  const takeValues = (max: number): string[] => {
    const taken: string[] = [];
    while (taken.length < max && i < tokens.length && !looksLikeOption(tokens[i] ?? "")) taken.push(tokens[i++] ?? "");
    return taken;
  };
  while (i < tokens.length) {
    const token = tokens[i++] ?? "";
    if (token === "--") {
      positionals.push(...tokens.slice(i));
      break;
    }
    if (!looksLikeOption(token)) {
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf("=");
    const name = eq < 0 ? token : token.slice(0, eq);
    const inline = eq < 0 ? undefined : token.slice(eq + 1);
    if (name.startsWith("--") && name.includes(".")) {
      throw new ServeArgError("vllm serve", `${name}: dotted JSON arguments are not supported by the stand-in; pass the whole JSON value`);
    }
    const flag = FLAG_BY_NAME.get(name);
    if (!flag) {
      unknown.push(name);
      continue;
    }
    const key = flag.names[0] ?? name;
    switch (flag.kind) {
      case "toggle":
      case "switch": {
        if (inline !== undefined) throw new ServeArgError("vllm serve", `argument ${displayName(flag)}: ignored explicit argument ${pyRepr(inline)}`);
        options.set(key, !(flag.kind === "toggle" && name.startsWith("--no-") && name !== key));
        break;
      }
      case "value":
      case "append": {
        const value = inline ?? takeValues(1)[0];
        if (value === undefined) throw new ServeArgError("vllm serve", `argument ${displayName(flag)}: expected one argument`);
        checkValue(flag, value);
        const previous = options.get(key);
        options.set(key, flag.kind === "append" ? [...(Array.isArray(previous) ? previous : []), value] : value);
        break;
      }
      case "optional": {
        const value = inline ?? takeValues(1)[0];
        if (value !== undefined) checkValue(flag, value);
        options.set(key, value ?? true);
        break;
      }
      case "list": {
        const values = inline === undefined ? takeValues(Infinity) : [inline, ...takeValues(Infinity)];
        if (values.length === 0) throw new ServeArgError("vllm serve", `argument ${displayName(flag)}: expected at least one argument`);
        values.forEach((v) => checkValue(flag, v));
        options.set(key, values);
        break;
      }
    }
  }
  const viaOption = options.get("--model");
  const [positionalModel, ...extra] = typeof viaOption === "string" ? [viaOption, ...positionals] : positionals;
  if (unknown.length > 0 || extra.length > 0) {
    // Values are not echoed: a mistyped flag may be followed by a secret.
    const hidden = extra.length > 0 ? [`(and ${extra.length} value${extra.length === 1 ? "" : "s"} not shown)`] : [];
    throw new ServeArgError("vllm", `unrecognized arguments: ${[...unknown, ...hidden].join(" ")}`);
  }
  options.delete("--model");
  return { model: positionalModel ?? DEFAULT_MODEL, options };
}
