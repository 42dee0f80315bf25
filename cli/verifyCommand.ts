// `gaudi-pd verify --stack NAME`: the deployment's own verify step, run again against a live cluster — the same
// rendered script, uploaded over SSH to the router host and run there, its findings one line each.
import { bindAddresses, ClusterPlan } from "../components/plan";
import { ROUTER_UNIT } from "../components/names";
import { renderVerifyScript } from "../components/render/verifyScript";
import { CliError } from "./errors";
import { commandFlags, flagHelp, flagValue, requiredFlag } from "./flags";
import { planStack, PROJECT_DIR } from "./planCommand";
import { run } from "./processes";
import { sshArgv, withSshKey } from "./ssh";
import { STACK_SSH_FLAGS } from "./statusCommand";
import { stackHosts, stackOutputs } from "./stackHosts";

const VERIFY_FLAGS = STACK_SSH_FLAGS;

export const VERIFY_USAGE = `Usage: gaudi-pd verify --stack NAME [--ssh-key-file FILE]

Run the deployment's verify step again on the router host of a live stack: requests prefilled and decoded
directly on every instance pair and through the router; every decode instance's NIXL transfer count must grow
by one per request it decoded, and its failure counters must not grow. Exit 0 verified; otherwise one line per
finding naming the instance, what was seen and the likely cause.

Options:
${flagHelp(VERIFY_FLAGS)}`;

/** Runs stdin as a script file, so nothing the script runs can read the rest of it. */
const RUN_STDIN = 'f=$(mktemp) && cat >"$f" && { bash "$f"; rc=$?; rm -f "$f"; exit $rc; }';

/** The plan with every node's private address: from the config (existing hosts), else from the stack's `nodes` output. */
async function boundPlan(stack: string, plan: ClusterPlan): Promise<ClusterPlan> {
  if (plan.topology.infra?.kind !== "aws") return plan;
  const nodes = (await stackOutputs(stack, PROJECT_DIR)).nodes;
  const entries = (Array.isArray(nodes) ? nodes : []).flatMap((n: { name?: unknown; privateAddress?: unknown }) =>
    typeof n.name === "string" && typeof n.privateAddress === "string" ? [[n.name, n.privateAddress] as const] : [],
  );
  return bindAddresses(plan, Object.fromEntries(entries));
}

export async function verifyCommand(argv: readonly string[]): Promise<number> {
  const flags = commandFlags(argv, VERIFY_FLAGS, VERIFY_USAGE);
  if (!flags) return 0;
  const stack = requiredFlag(flags, "--stack", "the deployed stack, e.g. --stack multi-node");
  const { plan } = planStack(stack, flagValue(flags, "--stacks-dir"));
  if (!plan.topology.verify.enabled) console.error(`verify: the stack says verify: false; checking anyway, as asked`);
  const routerHost = (await stackHosts(stack, plan, PROJECT_DIR)).find((h) => h.units.includes(ROUTER_UNIT));
  if (!routerHost) throw new CliError([`--stack: no host of ${stack} runs the router`], 1);
  const script = renderVerifyScript(await boundPlan(stack, plan));
  const r = await withSshKey(flagValue(flags, "--ssh-key-file"), (keyFile) => {
    const [cmd, ...args] = sshArgv(
      routerHost.login,
      { keyFile, knownHostsFile: flagValue(flags, "--known-hosts"), connectTimeoutSecs: 10 },
      RUN_STDIN,
      routerHost.bastion,
    );
    return run(cmd, args, { stdin: script, timeoutMs: (plan.topology.healthTimeoutSecs + 600) * 1000 });
  });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.code === 0 ? 0 : 1;
}
