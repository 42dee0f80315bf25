// `gaudi-pd` entry point: dispatch to a subcommand; user errors print one line each and no stack trace.
import { ConfigError, formatProblem } from "../components/problems";
import { CliError } from "./errors";

const USAGE = `Usage: gaudi-pd <command> [OPTIONS]

Commands:
  launch     Start (or --dry-run print) this node's prefill or decode instances, with the seed launcher's flags
  plan       Print a stack's cluster layout: nodes, ports, DP ranks, HPU modules, router command
  simulate   Run a whole stack on this machine with vLLM stand-ins behind the real vllm-router
  status     Ask a deployed stack's hosts how every instance and the router are doing; print the replace that restarts a node
  verify     Prove a deployed stack's KV path: every decode instance pulls KV from prefill over NIXL (the deployment's last step)

Run 'gaudi-pd <command> --help' for a command's options.`;

type Command = (argv: readonly string[]) => Promise<number>;
/** A command's module loads only when it runs: `status` needs @pulumi/pulumi, a second of startup the others need not pay. */
const COMMANDS: Record<string, () => Command> = {
  launch: () => (require("./launch") as typeof import("./launch")).launchCommand,
  plan: () => (require("./planCommand") as typeof import("./planCommand")).planCommand,
  simulate: () => (require("./simulateCommand") as typeof import("./simulateCommand")).simulateCommand,
  status: () => (require("./statusCommand") as typeof import("./statusCommand")).statusCommand,
  verify: () => (require("./verifyCommand") as typeof import("./verifyCommand")).verifyCommand,
};

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  const load = COMMANDS[command];
  if (!load) throw new CliError([`${command}: unknown command (commands: ${Object.keys(COMMANDS).join(", ")})`]);
  return load()(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof CliError || e instanceof ConfigError) {
      const lines = e instanceof CliError ? e.problems : e.problems.map((p) => formatProblem(p, "gaudi-pd:"));
      for (const line of lines) console.error(`gaudi-pd: error: ${line}`);
      process.exitCode = e instanceof CliError ? e.exitCode : 2;
      return;
    }
    console.error(`gaudi-pd: internal error: ${e instanceof Error ? e.message : String(e)}`);
    if (process.env.GAUDI_PD_DEBUG) console.error(e);
    process.exitCode = 1;
  },
);
