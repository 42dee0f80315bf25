// `gaudi-pd launch`: the seed launcher's interface, planned by plan.ts; --dry-run prints, otherwise it runs.
import { InstancePlan, planCluster } from "../components/plan";
import { parseTopology, TopologyError } from "../components/topology";
import { shellJoin } from "../components/render/shellQuote";
import { CliError } from "./errors";
import { flagHelp, parseFlags } from "./flags";
import { LAUNCH_FLAGS, launchFromFlags, LaunchTarget, inFlagTerms } from "./launchFlags";
import { instanceJson } from "./planJson";

export const LAUNCH_USAGE = `Usage: gaudi-pd launch [OPTIONS]

Launch disaggregated vLLM servers for prefill or decode on this node, with NIXL KV transfer.
Ports: prefill base+8*node_rank+i, decode base+1000+8*node_rank+i, side channel channel_base+8*node_rank+i.

Options:
${flagHelp(LAUNCH_FLAGS)}`;

/** Plan the instances of this node; every problem (flags given, then topology) comes back in flag terms. */
export function planLaunch(target: LaunchTarget, raw: Record<string, unknown>, flagProblems: readonly string[] = []): InstancePlan[] {
  try {
    const plan = planCluster(parseTopology(raw), {
      addresses: { [`${target.role}-${target.nodeRank}`]: target.nodeIp },
      dpMaster: { [target.role]: target.dpMasterIp },
    });
    if (flagProblems.length) throw new CliError(flagProblems);
    return plan.instances.filter((i) => i.role === target.role && i.nodeRank === target.nodeRank);
  } catch (e) {
    if (e instanceof TopologyError) throw new CliError([...flagProblems, ...e.problems.map((p) => inFlagTerms(p, target.role))]);
    throw e;
  }
}

/** The dry-run text: per instance a comment saying where it sits, then its full command with env. */
export function dryRunText(instances: readonly InstancePlan[]): string {
  return instances
    .map((i) => {
      const dp = i.dpRank === null ? "no DP" : `DP rank ${i.dpRank} via ${i.dpMasterAddress}:${i.dpMasterPort}`;
      const where = `# ${i.role} node ${i.nodeRank} instance ${i.instance}: port ${i.port}, side channel ${i.sideChannelPort}, ${dp}, HPU ${i.hpuModules.join(",")}`;
      const env = Object.entries(i.env).map(([k, v]) => `${k}=${v}`);
      return `${where}\n${shellJoin(["env", ...env, ...i.argv])}`;
    })
    .join("\n\n");
}

export async function launchCommand(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, LAUNCH_FLAGS);
  if (flags.has("--help")) {
    console.log(LAUNCH_USAGE);
    return 0;
  }
  const { target, raw, problems } = launchFromFlags(flags);
  const instances = planLaunch(target, raw, problems);
  if (flags.has("--dry-run")) {
    console.log(flags.has("--json") ? JSON.stringify({ instances: instances.map(instanceJson) }, null, 2) : dryRunText(instances));
    return 0;
  }
  throw new CliError(["launch: starting instances for real arrives with the host runtime; use --dry-run for now"]);
}
