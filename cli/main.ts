// `gaudi-pd` entry point: dispatch to a subcommand; user errors print one line each and no stack trace.
import { ConfigError, formatProblem } from "../components/problems";
import { CliError } from "./errors";
import { launchCommand } from "./launch";
import { planCommand } from "./planCommand";
import { simulateCommand } from "./simulateCommand";
import { statusCommand } from "./statusCommand";

const USAGE = `Usage: gaudi-pd <command> [OPTIONS]

Commands:
  launch     Start (or --dry-run print) this node's prefill or decode instances, with the seed launcher's flags
  plan       Print a stack's cluster layout: nodes, ports, DP ranks, HPU modules, router command
  simulate   Run a whole stack on this machine with vLLM stand-ins behind the real vllm-router
  status     Ask a deployed stack's hosts how every instance and the router are doing; print the replace that restarts a node

Run 'gaudi-pd <command> --help' for a command's options.`;

const COMMANDS: Record<string, (argv: readonly string[]) => Promise<number>> = {
  launch: launchCommand,
  plan: planCommand,
  simulate: simulateCommand,
  status: statusCommand,
};

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  const run = COMMANDS[command];
  if (!run) throw new CliError([`${command}: unknown command (commands: ${Object.keys(COMMANDS).join(", ")})`]);
  return run(rest);
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
