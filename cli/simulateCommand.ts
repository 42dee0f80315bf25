// `gaudi-pd simulate [--stack NAME]`: a stack's whole topology (or the seed's single-node one) on this machine behind the real vllm-router.
import { parseTopology, Topology } from "../components/topology";
import { CliError } from "./errors";
import { shownValue } from "../components/problems";
import { commandFlags, flagHelp, FlagSpec, flagValue } from "./flags";
import { planStack } from "./planCommand";
import { EPIPE_EXIT, runSimulation, SimulationResult } from "./simulation";

const SIMULATE_FLAGS: readonly FlagSpec[] = [
  { name: "--help", short: "-h", help: "Show this help message" },
  { name: "--stack", short: "-s", value: "NAME", help: "Stack to simulate (stacks/Pulumi.NAME.yaml; default: the seed's single-node setup)" },
  { name: "--stacks-dir", value: "DIR", help: "Where the stack files are (default: the project's stacks/)" },
  { name: "--requests", value: "N", help: "Requests to send through the router (default: 20)" },
  { name: "--timeout", value: "SECS", help: "How long instances may take to become healthy (default: 120)" },
  { name: "--json", help: "Print the summary as JSON: { requests, ok, failed, p50Ms, p99Ms, startupMs, kvTransfers, modelFetches }" },
];

export const SIMULATE_USAGE = `Usage: gaudi-pd simulate [--stack NAME] [--requests N] [--json]

Run every node of a stack (without --stack: the seed's single-node setup, 4 prefill + 4 decode instances with
DP 4 sharing one node, the router beside them) on this machine (vLLM stand-ins from sim/, nodes sharing 127.0.0.1 through the
port stride), the pinned vllm-router in front, and send requests through it: completions and chat,
streaming and not. Each must be prefilled and decoded by different live instances of the right roles.
Then the deployment's own verify step runs (unless the topology says verify: false): every decode instance
must count a NIXL KV transfer for every request it decoded. Exit 0 only if every request succeeded and the
cluster verified. Everything started is stopped at the end, on failure or Ctrl-C.

Options:
${flagHelp(SIMULATE_FLAGS)}`;

/** Without --stack: the seed's single-node setup (stacks/Pulumi.single-node.yaml's topology; a test holds them equal). */
export const DEFAULT_SIMULATION = {
  colocate: true,
  prefill: { instancesPerNode: 4, dpSize: 4 },
  decode: { instancesPerNode: 4, dpSize: 4 },
  router: { placement: "pd-0" },
} as const;

/** The topology to simulate: the named stack's, or the embedded default. */
function simulatedTopology(stack: string | undefined, stacksDir: string | undefined): Topology {
  return stack === undefined ? parseTopology(DEFAULT_SIMULATION) : planStack(stack, stacksDir).topology;
}

function positiveInt(flag: string, value: string | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new CliError([`${flag}: must be a whole number of at least 1, got ${shownValue(value)}`]);
  return Number(value);
}

/** How often each node downloaded the model: the most any of its files was served to it (0 for a local path). */
function fetchSummary(fetches: SimulationResult["modelFetches"]): string {
  const perNode = Object.entries(fetches).map(([node, files]) => `${node} ${Math.max(0, ...Object.values(files))}`);
  return `model fetches per node: ${perNode.join(", ")}`;
}

export async function simulateCommand(argv: readonly string[]): Promise<number> {
  const flags = commandFlags(argv, SIMULATE_FLAGS, SIMULATE_USAGE);
  if (!flags) return 0;
  const stack = flagValue(flags, "--stack");
  if (stack === undefined && flags.has("--stacks-dir")) throw new CliError(["--stacks-dir: only with --stack"]);
  const requests = positiveInt("--requests", flagValue(flags, "--requests"), 20);
  const timeoutSecs = positiveInt("--timeout", flagValue(flags, "--timeout"), 120);
  const topology = simulatedTopology(stack, flagValue(flags, "--stacks-dir"));
  const json = flags.has("--json");
  const result = await runSimulation({ stack: stack ?? "default", topology, requests, timeoutSecs, progress: (line) => console.error(line) });
  const { failures, logsKept, ...summary } = result;
  // Everything has stopped by now: a reader gone before the summary (`| true`) ends us as SIGPIPE would, without a stack trace.
  for (const out of [process.stdout, process.stderr])
    out.on("error", (e: NodeJS.ErrnoException) => process.exit(e.code === "EPIPE" ? EPIPE_EXIT : 1));
  for (const f of failures) console.error(`simulate: ${f}`);
  if (json) console.log(JSON.stringify(summary));
  else
    console.log(
      `${summary.ok}/${summary.requests} requests ok, ${summary.failed} failed; p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms; ` +
        `startup ${(summary.startupMs / 1000).toFixed(1)} s; ${summary.kvTransfers} KV transfers; ${fetchSummary(summary.modelFetches)}` +
        `${logsKept ? `; logs in ${logsKept}` : ""}`,
    );
  return failures.length === 0 ? 0 : 1;
}
