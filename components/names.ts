// Every name gaudi-pd gives: plan nodes, Pulumi resources (children are `${component}-<node>[-<what>]`, as
// awsx and eks prefix theirs, so two clusters fit in one stack), URNs, and the files and systemd units on hosts.

/** What a planned node is for: one role, or both roles of a colocated node (`pd`). */
export type NodeKind = "prefill" | "decode" | "pd";

/** The name the Pulumi program (index.ts) gives its one PdCluster, and so the first word of every resource name. */
export const PROGRAM_CLUSTER = "gaudi-pd";

/** A planned node: `prefill-0`, `decode-1`, `pd-0`. */
export function nodeNameOf(kind: NodeKind, rank: number): string {
  return `${kind}-${rank}`;
}

/** The plan's name of the dedicated router host: the key of its address and its Host name. */
export const DEDICATED_ROUTER_NODE = "router";

/** A node's address in a plan until its machine exists: its node name, so scripts and diffs read as the node. */
export function placeholderAddress(node: string): string {
  return node;
}

/** A child resource of component `component`: `gaudi-pd-prefill-0-serve`, `gaudi-pd-sg`. */
export function childName(component: string, ...parts: readonly (string | number)[]): string {
  return [component, ...parts].join("-");
}

/** The machine (EC2 instance) of a node, or of the dedicated router host (`gaudi-pd-router`). */
export const machineName = (component: string, node: string) => childName(component, node);
/** The Elastic IP of a node's machine. */
export const eipName = (component: string, node: string) => childName(component, node, "eip");
/** The command that waits for a host to answer SSH and finish booting. */
export const readyName = (component: string, node: string) => childName(component, node, "ready");
/** The command that writes the HF token file on a node. */
export const hfTokenName = (component: string, node: string) => childName(component, node, "hf-token");
/** The command that installs, starts and waits for a node's instances; replacing it restarts them. */
export const serveName = (component: string, node: string) => childName(component, node, "serve");
/** The command that installs, starts and waits for the router (on its own host or on a node). */
export const routerServeName = (component: string) => childName(component, ROUTER_UNIT, "serve");
/** The cluster's last command, on the router host: proves every decode instance pulls KV over NIXL. Also its script's name there. */
export const verifyName = (component: string) => childName(component, "verify");

/** The host unit of the router: names its script, state subdirectory and systemd unit on whichever host runs it. */
export const ROUTER_UNIT = "router";
/** The router's one service on its host. */
export const ROUTER_SERVICE = "vllm-router";

/** A vLLM instance's service key on its node: its file names and systemd instance name (`decode-1`). */
export function instanceService(role: string, instance: number): string {
  return `${role}-${instance}`;
}

/** The systemd template unit (before `@<service>.service`) of a host unit: `gaudi-pd-pd-0`, `gaudi-pd-router`. */
export function systemdUnit(unit: string): string {
  return `gaudi-pd-${unit}`;
}

/** Where the host script of a unit (a node name or ROUTER_UNIT) lives on its host. */
export function scriptPath(stateDir: string, unit: string): string {
  return `${stateDir}/${unit}.sh`;
}

/** The state subdirectory of a unit on its host (env files, launchers, pid files). */
export function unitStateDir(stateDir: string, unit: string): string {
  return `${stateDir}/${unit}`;
}

/** The directory of secret files on a host. */
export function secretsDir(stateDir: string): string {
  return `${stateDir}/secrets`;
}

/** The env file holding `HF_TOKEN=…`, mode 0600, read by the instances at start. */
export function hfTokenFile(stateDir: string): string {
  return `${secretsDir(stateDir)}/hf-token.env`;
}

/** The type tokens of gaudi-pd's components. */
export const COMPONENT_TYPES = {
  pdCluster: "gaudi-pd:index:PdCluster",
  pdServing: "gaudi-pd:index:PdServing",
  gaudiNodes: "gaudi-pd:index:GaudiNodes",
  existingHosts: "gaudi-pd:index:ExistingHosts",
} as const;
/** The type token of a remote command. */
export const REMOTE_COMMAND_TYPE = "command:remote:Command";

/**
 * A resource's URN (Pulumi's grammar: `urn:pulumi:<stack>::<project>::<qualified type>::<name>`, where the
 * qualified type is the parent types' chain joined by `$`, the stack's own type left out).
 */
export function urn(stack: string, project: string, typeChain: readonly string[], name: string): string {
  return `urn:pulumi:${stack}::${project}::${typeChain.join("$")}::${name}`;
}

/** The URN of a remote command of a PdCluster's serving (a serve command, say) when the cluster is at the top of its stack. */
export function servingCommandUrn(stack: string, project: string, command: string): string {
  return urn(stack, project, [COMPONENT_TYPES.pdCluster, COMPONENT_TYPES.pdServing, REMOTE_COMMAND_TYPE], command);
}
