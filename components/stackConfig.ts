// Stack config → raw topology: the `gaudi-pd:*` keys of a Pulumi stack, from the engine or from a stack file.
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { Problem, problem } from "./problems";

export const CONFIG_NAMESPACE = "gaudi-pd";
/** The config key of the HF token, which must be a Pulumi secret. */
export const HF_TOKEN_KEY = "hfToken";
/** The config key of the SSH private key (a secret): a credential, not part of the topology. */
export const SSH_PRIVATE_KEY_KEY = "sshPrivateKey";
/** What stands in the raw topology for the token: the planner needs to know it exists, never its value. */
export const SECRET_PLACEHOLDER = "[secret]";

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
  for (const [fullKey, value] of Object.entries(entries)) {
    const [ns, key] = fullKey.split(":", 2);
    if (ns !== CONFIG_NAMESPACE || key === undefined || key === SSH_PRIVATE_KEY_KEY) continue;
    raw[key] = key === HF_TOKEN_KEY ? SECRET_PLACEHOLDER : decode(value);
  }
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
  return fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []).sort() : [];
}

/** The `config:` map of `<stacksDir>/Pulumi.<stack>.yaml`, or null when there is no such file. */
export function readStackConfig(stacksDir: string, stack: string): Record<string, unknown> | null {
  const file = stackFile(stacksDir, stack);
  if (!fs.existsSync(file)) return null;
  const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  return doc?.config ?? {};
}
