// The hosts of a deployed stack and how to log in to each, the way the program's connections do: from the stack
// config for `infra.kind: hosts`, from `pulumi stack output --json` for `aws` (its machines' addresses exist only there).
import { listedHosts, sshTarget } from "../components/existingHosts";
import { DEDICATED_ROUTER_NODE, ROUTER_UNIT } from "../components/names";
import { ClusterPlan } from "../components/plan";
import { AwsInfra, HostsInfra } from "../components/topology";
import { CliError } from "./errors";
import { run } from "./processes";
import { SshLogin } from "./ssh";

/** One machine of the stack. */
export interface StackHost {
  /** The plan node it is, or DEDICATED_ROUTER_NODE. */
  readonly node: string;
  readonly login: SshLogin;
  readonly bastion?: SshLogin;
  /** The host units (node name, ROUTER_UNIT) whose scripts run there. */
  readonly units: readonly string[];
}

/** The units on a machine: its node's script, and the router's when the router is placed there. */
function unitsOn(plan: ClusterPlan, node: string): string[] {
  return [...(node === DEDICATED_ROUTER_NODE ? [] : [node]), ...(plan.router.node === node ? [ROUTER_UNIT] : [])];
}

/** Existing hosts: every address, user, port and the bastion come from the stack config. */
export function hostsFromConfig(plan: ClusterPlan, infra: HostsInfra): StackHost[] {
  const bastion = infra.bastion ? sshTarget(infra, infra.bastion) : undefined;
  return listedHosts(plan, infra).map((h) => ({ node: h.node, login: sshTarget(infra, h.entry), bastion, units: unitsOn(plan, h.node) }));
}

/** AWS: the nodes' public addresses from the `nodes` output, the dedicated router's from `routerUrl`. */
export function hostsFromOutputs(plan: ClusterPlan, infra: AwsInfra, outputs: Readonly<Record<string, unknown>>): StackHost[] {
  const nodes = Array.isArray(outputs.nodes) ? (outputs.nodes as { name?: unknown; publicAddress?: unknown }[]) : [];
  const address = new Map<string, string>();
  for (const n of nodes) if (typeof n.name === "string" && typeof n.publicAddress === "string") address.set(n.name, n.publicAddress);
  if (plan.router.node === DEDICATED_ROUTER_NODE && typeof outputs.routerUrl === "string") {
    const url = URL.canParse(outputs.routerUrl) ? new URL(outputs.routerUrl) : undefined;
    if (url) address.set(DEDICATED_ROUTER_NODE, url.hostname.replace(/^\[(.*)\]$/, "$1"));
  }
  const dedicated = plan.router.node === DEDICATED_ROUTER_NODE ? [DEDICATED_ROUTER_NODE] : [];
  const wanted = [...plan.nodes.map((n) => n.name), ...dedicated];
  const missing = wanted.filter((n) => !address.has(n));
  if (missing.length)
    throw new CliError([
      `--stack: the stack's outputs give no address for ${missing.join(", ")} (is the stack deployed? pulumi stack output --json)`,
    ]);
  return wanted.map((node) => ({ node, login: { host: address.get(node) as string, user: infra.sshUser }, units: unitsOn(plan, node) }));
}

/** `pulumi stack output --json` of a stack of the project in `projectDir`. */
export async function stackOutputs(stack: string, projectDir: string): Promise<Record<string, unknown>> {
  const r = await run("pulumi", ["--cwd", projectDir, "stack", "output", "--json", "--stack", stack], { timeoutMs: 120_000 });
  const why = r.stderr.trim().split("\n").at(-1) ?? "";
  if (r.code !== 0) throw new CliError([`--stack: pulumi stack output --json --stack ${stack} failed (exit ${r.code}): ${why}`], 1);
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new CliError([`--stack: pulumi stack output --json printed no JSON`], 1);
  }
}

/** Every host of a deployed stack; asks Pulumi for the addresses only when the config does not hold them. */
export async function stackHosts(stack: string, plan: ClusterPlan, projectDir: string): Promise<StackHost[]> {
  const infra = plan.topology.infra;
  if (!infra) throw new CliError(["gaudi-pd:infra: the stack has no infra, so it deploys nothing to reach"]);
  if (infra.kind === "hosts") return hostsFromConfig(plan, infra);
  return hostsFromOutputs(plan, infra, await stackOutputs(stack, projectDir));
}
