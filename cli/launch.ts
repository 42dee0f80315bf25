// `gaudi-pd launch`: the seed launcher's interface, planned by plan.ts; --dry-run prints, otherwise it runs.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ClusterPlan, InstancePlan, planCluster } from "../components/plan";
import { hfTokenFile, scriptPath } from "../components/names";
import { hfTokenEnv } from "../components/render/hostCommands";
import { renderNodeScript } from "../components/render/nodeScript";
import { ConfigError } from "../components/problems";
import { parseTopology } from "../components/topology";
import { shellJoin } from "../components/render/shellQuote";
import { CliError } from "./errors";
import { commandFlags, flagHelp } from "./flags";
import { LAUNCH_FLAGS, launchFromFlags, LaunchTarget, inFlagTerms } from "./launchFlags";
import { instanceJson } from "./planJson";

export const LAUNCH_USAGE = `Usage: gaudi-pd launch [OPTIONS]

Launch disaggregated vLLM servers for prefill or decode on this node, with NIXL KV transfer.
Ports of instance i on this node (decode shifts each by +1000, so prefill and decode can share a node):
                     prefill                              decode
  serve port         base-port + 8*node-rank + i          base-port + 1000 + 8*node-rank + i
  NIXL side channel  base-channel-port + 8*node-rank + i  base-channel-port + 1000 + 8*node-rank + i
  DP master port     dp-master-port                       dp-master-port + 1000
The side channel is the VLLM_NIXL_SIDE_CHANNEL_PORT value handed to vLLM, which listens from it + the DP rank.

Options:
${flagHelp(LAUNCH_FLAGS)}`;

/** Plan this node; every problem (flags given, then topology) comes back in flag terms. */
export function planLaunch(
  target: LaunchTarget,
  raw: Record<string, unknown>,
  flagProblems: readonly string[] = [],
): { plan: ClusterPlan; node: string } {
  try {
    const node = `${target.role}-${target.nodeRank}`;
    const plan = planCluster(parseTopology(raw), { addresses: { [node]: target.nodeIp }, dpMaster: { [target.role]: target.dpMasterIp } });
    if (flagProblems.length) throw new CliError(flagProblems);
    return { plan, node };
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError([...flagProblems, ...e.problems.map((p) => inFlagTerms(p, target.role))]);
    throw e;
  }
}

/** This node's instances. */
export function nodeInstances(plan: ClusterPlan, node: string): InstancePlan[] {
  return plan.instances.filter((i) => i.node === node);
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

/** The seed's closing summary: one line per server. */
function serversText(plan: ClusterPlan, node: string, target: LaunchTarget): string {
  const rule = "==============================================";
  const servers = nodeInstances(plan, node).map((i, k) => `Server ${k + 1}: ${target.nodeIp}:${i.port}`);
  return [rule, `All ${target.role} servers launched successfully`, `Log directory: ${plan.topology.logDir}`, rule, ...servers, rule].join("\n");
}

/** Write a file holding a secret, 0600 whatever was there before: a fresh file, renamed over the old one. */
export function writeSecretFile(file: string, text: string): void {
  const fresh = `${file}.${process.pid}.new`;
  fs.rmSync(fresh, { force: true });
  fs.writeFileSync(fresh, text, { mode: 0o600, flag: "wx" });
  fs.chmodSync(fresh, 0o600);
  fs.renameSync(fresh, file);
}

/** Run verbs of this node's script in the foreground, its output on our terminal; supervised processes, like the seed's. */
async function runNodeScript(plan: ClusterPlan, node: string, verbs: readonly string[]): Promise<number> {
  const file = scriptPath(plan.topology.stateDir, node);
  const stopping = verbs.includes("stop");
  // Stop runs the script the start installed: it knows what runs, whatever today's flags would plan (fewer -n).
  if (!(stopping && fs.existsSync(file))) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, renderNodeScript(plan, node), { mode: 0o700 });
  }
  const tokenFile = hfTokenFile(plan.topology.stateDir);
  if (plan.topology.hasHfToken && !stopping) {
    fs.mkdirSync(path.dirname(tokenFile), { recursive: true, mode: 0o700 });
    writeSecretFile(tokenFile, hfTokenEnv(process.env.HF_TOKEN ?? ""));
  }
  const child = spawn("bash", [file, ...verbs], { stdio: "inherit", env: { ...process.env, GAUDI_PD_MODE: "supervised" } });
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  // Nothing left to read the token once the instances are stopped: it does not outlive them on disk.
  if (stopping && code === 0) fs.rmSync(tokenFile, { force: true });
  return code;
}

export async function launchCommand(argv: readonly string[]): Promise<number> {
  const flags = commandFlags(argv, LAUNCH_FLAGS, LAUNCH_USAGE);
  if (!flags) return 0;
  const { target, raw, problems } = launchFromFlags(flags);
  const { plan, node } = planLaunch(target, raw, problems);
  if (flags.has("--dry-run")) {
    const instances = nodeInstances(plan, node);
    console.log(flags.has("--json") ? JSON.stringify({ instances: instances.map(instanceJson) }, null, 2) : dryRunText(instances));
    return 0;
  }
  if (flags.has("--stop")) return runNodeScript(plan, node, ["stop"]);
  const code = await runNodeScript(plan, node, ["install", "start", "wait"]);
  if (code === 0) console.log(serversText(plan, node, target));
  return code;
}
