// Stack config → raw topology: the `gaudi-pd:*` keys of a Pulumi stack, from the engine or from a stack file.
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "yaml";
import { ConfigError, Problem, problem, shownValue } from "./problems";

export const CONFIG_NAMESPACE = "gaudi-pd";
/** The config key of the HF token, which must be a Pulumi secret. */
export const HF_TOKEN_KEY = "hfToken";
/** The config key of the SSH private key (a secret): a credential, not part of the topology. */
export const SSH_PRIVATE_KEY_KEY = "sshPrivateKey";
/** What stands in the raw topology for the token: the planner needs to know it exists, never its value. */
export const SECRET_PLACEHOLDER = "[secret]";

/** Keys that would reach an object's prototype, refused at any depth. */
const PROTOTYPE_KEYS = new Set(["__proto__", "constructor", "prototype"]);
/** A stack file's config key: `namespace:key`, one colon. */
const CONFIG_KEY = /^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+$/;

/** Decode one config value: the engine hands over strings (JSON for structured values), stack files native values. */
function decode(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** The raw topology from config entries keyed `gaudi-pd:<key>`; other namespaces (aws:, …) are not ours. */
export function rawTopologyFromConfig(entries: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  const problems: Problem[] = [];
  for (const [fullKey, value] of Object.entries(entries)) {
    const [ns, key, ...rest] = fullKey.split(":");
    if (ns !== CONFIG_NAMESPACE || key === undefined || key === SSH_PRIVATE_KEY_KEY) continue;
    if (rest.length || PROTOTYPE_KEYS.has(key) || !CONFIG_KEY.test(fullKey)) {
      problems.push(problem("", `config key ${shownValue(fullKey)} is not a ${CONFIG_NAMESPACE}:<key> gaudi-pd reads`));
      continue;
    }
    raw[key] = key === HF_TOKEN_KEY ? SECRET_PLACEHOLDER : decode(value);
  }
  if (problems.length) throw new ConfigError(problems);
  return raw;
}

/** Problems with how secrets are stored in a stack file: the HF token and the SSH key must be `secure:`, never plain text. */
export function stackFileSecretProblems(entries: Readonly<Record<string, unknown>>): Problem[] {
  return [HF_TOKEN_KEY, SSH_PRIVATE_KEY_KEY].flatMap((key) => {
    const value = entries[`${CONFIG_NAMESPACE}:${key}`];
    if (value === undefined || (typeof value === "object" && value !== null && "secure" in value)) return [];
    return [problem(key, `must be a secret (pulumi config set --secret ${CONFIG_NAMESPACE}:${key} …), found plain text`)];
  });
}

/** Path of a stack's config file in a stacks directory. */
export function stackFile(stacksDir: string, stack: string): string {
  return path.join(stacksDir, `Pulumi.${stack}.yaml`);
}

/** The stacks that have a config file in a stacks directory. */
export function listStacks(stacksDir: string): string[] {
  return fs.existsSync(stacksDir)
    ? fs
        .readdirSync(stacksDir)
        .flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? [])
        .sort()
    : [];
}

/** Pulumi's stack-name characters: a stack name never reaches outside the stacks directory. */
export const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;
/** Largest stack file read: a topology is a few kilobytes. */
export const MAX_STACK_FILE_BYTES = 1024 * 1024;

/** Problems with a stack name given on the command line (`--stack x/../../f` would leave the stacks directory). */
export function stackNameProblems(stack: string): Problem[] {
  if (STACK_NAME.test(stack) && stack !== "." && stack !== "..") return [];
  return [problem("--stack", `must be a stack name (letters, digits, _ . -, at most 100), got ${shownValue(stack)}`)];
}

/** The `config:` map of `<stacksDir>/Pulumi.<stack>.yaml`, or null when there is no such file.
 *  Read safely: size-limited, no aliases, a mapping at the top and under `config`, `namespace:key` keys,
 *  no prototype keys. Problems are thrown as a ConfigError whose paths are `file[:line:column]`. */
export function readStackConfig(stacksDir: string, stack: string): Record<string, unknown> | null {
  const refused = stackNameProblems(stack);
  if (refused.length) throw new ConfigError(refused);
  const file = stackFile(stacksDir, stack);
  if (!fs.existsSync(file)) return null;
  const size = fs.statSync(file).size;
  if (size > MAX_STACK_FILE_BYTES)
    throw new ConfigError([problem(file, `is ${size} bytes, more than a stack file may be (${MAX_STACK_FILE_BYTES})`)]);
  const text = fs.readFileSync(file, "utf8");
  const doc = yaml.parseDocument(text, { prettyErrors: false, uniqueKeys: true, strict: true });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return file;
    const before = text.slice(0, offset).split("\n");
    return `${file}:${before.length}:${before[before.length - 1].length + 1}`;
  };
  const problems: Problem[] = doc.errors.map((e) => problem(at(e.pos[0]), e.message.split("\n")[0]));
  if (problems.length) throw new ConfigError(problems);
  let aliases = 0;
  yaml.visit(doc, {
    Alias(_, node) {
      // One line for the first; aliases are refused outright, so none is ever expanded.
      if (aliases++ === 0) problems.push(problem(at(node.range?.[0]), "YAML aliases are not accepted in a stack file (write the value out)"));
    },
    Pair(_, pair) {
      const key = yaml.isScalar(pair.key) ? String(pair.key.value) : "";
      if (PROTOTYPE_KEYS.has(key)) problems.push(problem(at((pair.key as yaml.Node | null)?.range?.[0]), `key ${shownValue(key)} is not accepted`));
    },
  });
  if (problems.length) throw new ConfigError(problems);
  const top: unknown = doc.toJS({ maxAliasCount: 0 });
  if (top === null || top === undefined) return {};
  if (!isMapping(top)) throw new ConfigError([problem(file, "must be a mapping (config: …) at the top")]);
  const config = top.config ?? {};
  if (!isMapping(config)) throw new ConfigError([problem(`${file}: config`, "must be a mapping of namespace:key entries")]);
  const badKeys = Object.keys(config).filter((k) => !CONFIG_KEY.test(k));
  if (badKeys.length) throw new ConfigError(badKeys.map((k) => problem(`${file}: config`, `key ${shownValue(k)} must have the form namespace:key`)));
  return config;
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
