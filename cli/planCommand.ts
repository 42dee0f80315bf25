// `gaudi-pd plan --stack NAME [--json]`: a stack's whole cluster as a port-layout table or JSON, no cloud needed.
import * as path from "node:path";
import { ClusterPlan, planCluster } from "../components/plan";
import { shellJoin } from "../components/render/shellQuote";
import { listStacks, rawTopologyFromConfig, readStackConfig, stackFileSecretProblems } from "../components/stackConfig";
import { ConfigError, formatProblem } from "../components/problems";
import { knownAddresses, parseTopology, Topology } from "../components/topology";
import { CliError } from "./errors";
import { commandFlags, flagHelp, FlagSpec, flagValue, requiredFlag } from "./flags";
import { clusterJson } from "./planJson";
import { formatTable } from "./table";

const PLAN_FLAGS: readonly FlagSpec[] = [
  { name: "--help", short: "-h", help: "Show this help message" },
  { name: "--stack", short: "-s", value: "NAME", help: "Stack whose stacks/Pulumi.NAME.yaml to plan" },
  { name: "--stacks-dir", value: "DIR", help: "Where the Pulumi.NAME.yaml stack files are (default: the project's stacks/)" },
  { name: "--json", help: "Print the plan as JSON" },
];

export const PLAN_USAGE = `Usage: gaudi-pd plan --stack NAME [--json]

Print every node, instance, port, DP rank and HPU module of a stack, and the router command.

Options:
${flagHelp(PLAN_FLAGS)}`;

/** The project root: where Pulumi.yaml and stacks/ live. */
export const PROJECT_DIR = path.resolve(__dirname, "..");

/** A stack file's config; its problems (a bad name, YAML, shape) as lines naming the file, line and column. */
function stackConfigOrError(stacksDir: string, stack: string): Record<string, unknown> | null {
  try {
    return readStackConfig(stacksDir, stack);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.problems.map((p) => formatProblem(p)));
    throw e;
  }
}

/** Read, validate and plan a stack; problems are prefixed with the config key they belong to. */
export function planStack(stack: string, stacksDir = path.join(PROJECT_DIR, "stacks")): { topology: Topology; plan: ClusterPlan } {
  const config = stackConfigOrError(stacksDir, stack);
  if (!config) throw new CliError([`--stack: no Pulumi.${stack}.yaml in ${stacksDir} (stacks: ${listStacks(stacksDir).join(", ") || "none"})`]);
  const secretProblems = stackFileSecretProblems(config);
  try {
    const topology = parseTopology(rawTopologyFromConfig(config));
    if (secretProblems.length) throw new ConfigError([]);
    return { topology, plan: planCluster(topology, { addresses: knownAddresses(topology) }) };
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError([...secretProblems, ...e.problems].map((p) => formatProblem(p, "gaudi-pd:")));
    throw e;
  }
}

/** The seed's "Example Port Layout", extended with side channels, DP ranks and HPU modules. */
export function layoutText(stack: string, plan: ClusterPlan): string {
  const t = plan.topology;
  const rows = plan.instances.map((i) => [
    i.node,
    plan.nodes.find((n) => n.name === i.node)?.address ?? i.node,
    i.role,
    String(i.instance),
    String(i.port),
    i.env.VLLM_NIXL_SIDE_CHANNEL_PORT ?? "-",
    String(i.sideChannelPort),
    i.dpRank === null ? "-" : `${i.dpRank}/${t[i.role].dpSize}`,
    i.dpMasterAddress === null ? "-" : `${i.dpMasterAddress}:${i.dpMasterPort}`,
    i.hpuModules.join(","),
  ]);
  const header = ["NODE", "ADDRESS", "ROLE", "INST", "PORT", "NIXL ENV", "NIXL LISTEN", "DP RANK", "DP MASTER", "HPU"];
  const footnote =
    "NIXL ENV: VLLM_NIXL_SIDE_CHANNEL_PORT as handed to vLLM (base-channel-port, +1000 for decode, + 8*node rank + instance).\n" +
    "NIXL LISTEN: the first side-channel port vLLM binds for that instance (the env value + its DP rank).";
  const summary =
    `Stack ${stack}: ${t.model}, ${plan.nodes.length} node(s), ${plan.instances.length} instance(s)` +
    `, infra ${t.infra?.kind ?? "none"}, router on ${plan.router.address}:${plan.router.port}`;
  return `${summary}\n\n${formatTable(header, rows)}\n\n${footnote}\n\nRouter:\n  ${shellJoin(plan.router.argv)}`;
}

export async function planCommand(argv: readonly string[]): Promise<number> {
  const flags = commandFlags(argv, PLAN_FLAGS, PLAN_USAGE);
  if (!flags) return 0;
  const stack = requiredFlag(flags, "--stack", "a name under stacks/, e.g. --stack multi-node");
  const { plan } = planStack(stack, flagValue(flags, "--stacks-dir"));
  console.log(flags.has("--json") ? JSON.stringify(clusterJson(stack, plan), null, 2) : layoutText(stack, plan));
  return 0;
}
