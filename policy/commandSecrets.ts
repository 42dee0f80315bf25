// No plain-text secret in a command resource. Policies cannot tell a Pulumi secret from plain text when
// validating (the analyzer hands validations unwrapped values, pulumi/pulumi-policy#241), but remediations
// see secrets wrapped. So: secrets on a command line or in its environment are refused outright (secret or
// not, they reach the host's process table or the preview), and secrets on stdin or in the SSH connection
// are made Pulumi secrets by the remediation when the program left them plain.
import { ResourceValidationPolicy, Secret } from "@pulumi/policy";
import { read, storedValue, UNKNOWN } from "./lib/props";
import { secretKindsIn } from "./lib/secretPatterns";
import { T } from "./lib/types";

const COMMANDS = new Set<string>([T.remoteCommand, T.localCommand]);
const COMMAND_TEXTS = ["create", "update", "delete"] as const;
const CREDENTIALS = ["privateKey", "password", "privateKeyPassword"] as const;

/** `field: text` pairs of the command texts and `environment.KEY: KEY=value` of its environment (known values only). */
function visibleTexts(props: Record<string, any>): [string, string][] {
  const texts = COMMAND_TEXTS.flatMap((f): [string, string][] => {
    const v = read(() => props[f]);
    return typeof v === "string" ? [[f, v]] : [];
  });
  const env = read(() => props.environment as Record<string, unknown> | undefined);
  if (env === UNKNOWN || typeof env !== "object" || env === null) return texts;
  const envTexts = Object.keys(env).flatMap((k): [string, string][] => {
    const v = read(() => env[k]);
    return typeof v === "string" ? [[`environment.${k}`, `${k}=${v}`]] : [];
  });
  return [...texts, ...envTexts];
}

/** Makes each plain credential of a connection object (and its bastion proxy) a Secret; true when one changed. */
function secureCredentials(connection: unknown): boolean {
  let changed = false;
  for (const holder of [connection, storedValue(Object(connection), "proxy")]) {
    if (typeof holder !== "object" || holder === null || holder instanceof Secret) continue;
    const fields = holder as Record<string, unknown>;
    for (const key of CREDENTIALS.filter((k) => typeof fields[k] === "string" && fields[k] !== "")) {
      fields[key] = new Secret(fields[key]);
      changed = true;
    }
  }
  return changed;
}

export const commandSecrets: ResourceValidationPolicy = {
  name: "no-plaintext-secrets-in-commands",
  description: "Command resources carry no secret in create/update/delete or environment; secrets on stdin and SSH credentials are Pulumi secrets.",
  // remediate: the validation reports as mandatory, and the remediation (the only place secrets are visible) runs.
  enforcementLevel: "remediate",
  validateResource: (args, reportViolation) => {
    if (!COMMANDS.has(args.type)) return args.notApplicable("not a command resource");
    for (const [field, text] of visibleTexts(args.props))
      for (const what of secretKindsIn(text))
        reportViolation(
          `${args.name}: ${field} carries ${what}; deliver it on stdin as a pulumi.secret (as gaudi-pd's <cluster>-<node>-hf-token does), never in a command line or environment`,
        );
  },
  remediateResource: (args) => {
    if (!COMMANDS.has(args.type)) return args.notApplicable("not a command resource");
    const stdin = storedValue(args.props, "stdin");
    const stdinChanged = typeof stdin === "string" && secretKindsIn(stdin).length > 0;
    if (stdinChanged) args.props.stdin = new Secret(stdin);
    const connection = storedValue(args.props, "connection");
    const connectionChanged = !(connection instanceof Secret) && secureCredentials(connection);
    return stdinChanged || connectionChanged ? args.props : undefined;
  },
};
