// `gaudi-pd status --stack NAME`: asks every host of a deployed stack how its instances and router are doing,
// over SSH, and prints the `pulumi up --replace` that restarts each node that is down (Pulumi cannot see it).
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { PROGRAM_CLUSTER } from "../components/names";
import { STATUS_NOT_INSTALLED, statusCommand as hostStatusCommand } from "../components/render/hostCommands";
import { parsePorcelain, replaceCommand, StatusRow, statusRows, UnitAnswer, unitsToReplace } from "./clusterStatus";
import { commandFlags, flagHelp, FlagSpec, flagValue, requiredFlag } from "./flags";
import { planStack, PROJECT_DIR } from "./planCommand";
import { SSH_KEY_ENV, SshSettings, sshRun, withSshKey } from "./ssh";
import { StackHost, stackHosts } from "./stackHosts";
import { formatTable } from "./table";

/** The flags of a command that reaches a deployed stack's hosts over SSH (status, verify). */
export const STACK_SSH_FLAGS: readonly FlagSpec[] = [
  { name: "--help", short: "-h", help: "Show this help message" },
  { name: "--stack", short: "-s", value: "NAME", help: "The deployed stack (its stacks/Pulumi.NAME.yaml and, for aws, its outputs)" },
  { name: "--stacks-dir", value: "DIR", help: "Where the Pulumi.NAME.yaml stack files are (default: the project's stacks/)" },
  { name: "--ssh-key-file", value: "FILE", help: `The SSH private key the stack's hosts accept (default: $${SSH_KEY_ENV}, else ssh's own keys)` },
  { name: "--known-hosts", value: "FILE", help: "SSH known-hosts file; hosts seen for the first time are added (default: ssh's)" },
];
const STATUS_FLAGS = STACK_SSH_FLAGS;

export const STATUS_USAGE = `Usage: gaudi-pd status --stack NAME [--ssh-key-file FILE]

Ask every host of a deployed stack, over SSH, how each vLLM instance and the router are doing: one line per
instance (healthy, starting, restarting n times, down) and the router's ${"/readiness"}. Exit 0 only when all are
healthy. For every node that is down, print the pulumi up --replace command that restarts it.
The key may also come from $${SSH_KEY_ENV} (e.g. "$(pulumi config get gaudi-pd:sshPrivateKey)"); it is never printed.

Options:
${flagHelp(STATUS_FLAGS)}`;

/** The project's name (Pulumi.yaml), the second part of every URN. */
function projectName(): string {
  const doc = yaml.load(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as { name?: string };
  return doc.name ?? path.basename(PROJECT_DIR);
}

/** Each unit's status on one host, keyed `host unit`. */
async function askHost(host: StackHost, stateDir: string, ssh: SshSettings): Promise<[string, UnitAnswer][]> {
  const answers: [string, UnitAnswer][] = [];
  for (const unit of host.units) {
    const r = await sshRun(host.login, ssh, hostStatusCommand(stateDir, unit), host.bastion);
    const key = `${host.node} ${unit}`;
    if (r.code === 0 || r.code === 3) answers.push([key, { kind: "reports", reports: parsePorcelain(r.stdout) }]);
    else if (r.code === STATUS_NOT_INSTALLED) answers.push([key, { kind: "not-installed" }]);
    else {
      const why = r.stderr.trim().split("\n").filter(Boolean).at(-1) ?? `exit ${r.code}`;
      answers.push([key, { kind: "unreachable", why: `${host.login.user}@${host.login.host}: ${why}` }]);
    }
  }
  return answers;
}

function rowsText(rows: readonly StatusRow[]): string {
  const cells = rows.map((r) => [r.service.host, r.service.key, String(r.service.port), r.verdict.text, r.check]);
  return formatTable(["HOST", "SERVICE", "PORT", "STATUS", "CHECK"], cells);
}

export async function statusCommand(argv: readonly string[]): Promise<number> {
  const flags = commandFlags(argv, STATUS_FLAGS, STATUS_USAGE);
  if (!flags) return 0;
  const stack = requiredFlag(flags, "--stack", "the deployed stack, e.g. --stack multi-node");
  const { plan } = planStack(stack, flagValue(flags, "--stacks-dir"));
  const hosts = await stackHosts(stack, plan, PROJECT_DIR);
  const answers = await withSshKey(flagValue(flags, "--ssh-key-file"), async (keyFile) => {
    const ssh: SshSettings = { keyFile, knownHostsFile: flagValue(flags, "--known-hosts"), connectTimeoutSecs: 10 };
    return new Map((await Promise.all(hosts.map((h) => askHost(h, plan.topology.stateDir, ssh)))).flat());
  });
  const rows = statusRows(plan, answers);
  console.log(rowsText(rows));
  const replace = unitsToReplace(rows, answers);
  const project = projectName();
  // Run from the project directory: pulumi finds the stack's project there.
  const from = path.resolve(process.cwd()) === PROJECT_DIR ? "" : ` (from ${PROJECT_DIR})`;
  for (const unit of replace) {
    console.log(`\n${unit} is down; replacing its serve command restarts every instance it runs${from}:`);
    console.log(`  ${replaceCommand(stack, project, PROGRAM_CLUSTER, unit)}`);
  }
  const healthy = rows.filter((r) => r.verdict.kind === "healthy").length;
  console.log(`\n${healthy}/${rows.length} healthy`);
  return healthy === rows.length ? 0 : 1;
}
