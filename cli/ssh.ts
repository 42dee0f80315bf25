// SSH from the operator's machine to a stack's hosts, as the program's connections reach them: same user, port,
// key and bastion. The private key only ever sits in a 0600 file the ssh client reads; it is never an argument.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { shellJoin } from "../components/render/shellQuote";
import { run, RunResult } from "./processes";
import { CliError } from "./errors";

/** One SSH login: where and as whom (port 22 unless given). */
export interface SshLogin {
  readonly host: string;
  readonly user: string;
  readonly port?: number;
}

/** How every connection of one run logs in. */
export interface SshSettings {
  /** The private key file, or undefined to let ssh use its own identities (agent, ~/.ssh). */
  readonly keyFile?: string;
  /** Known-hosts file (new hosts are added to it), or undefined for ssh's default. */
  readonly knownHostsFile?: string;
  /** Seconds to wait for a connection. */
  readonly connectTimeoutSecs: number;
}

/** The environment variable that may hold the private key itself (as `pulumi config get` prints it). */
export const SSH_KEY_ENV = "GAUDI_PD_SSH_PRIVATE_KEY";

/** ssh options shared by the login and its bastion hop. */
function options(s: SshSettings): string[] {
  return [
    "-F",
    "/dev/null",
    ...(s.keyFile ? ["-i", s.keyFile, "-o", "IdentitiesOnly=yes"] : []),
    ...(s.knownHostsFile ? ["-o", `UserKnownHostsFile=${s.knownHostsFile}`] : []),
    "-o",
    "StrictHostKeyChecking=accept-new",
    "-o",
    "BatchMode=yes",
    "-o",
    "LogLevel=ERROR",
    "-o",
    `ConnectTimeout=${s.connectTimeoutSecs}`,
  ];
}

const destination = (l: SshLogin) => ["-p", String(l.port ?? 22), `${l.user}@${l.host}`];

/** The ssh argv that runs `command` on `login`, through `bastion` when given (its hop uses the same key). */
export function sshArgv(login: SshLogin, settings: SshSettings, command: string, bastion?: SshLogin): string[] {
  // ProxyCommand rather than -J: the hop then gets exactly these options (key, known hosts) too.
  const hop = bastion ? ["-o", `ProxyCommand=${shellJoin(["ssh", ...options(settings), "-W", "%h:%p", ...destination(bastion)])}`] : [];
  return ["ssh", ...options(settings), ...hop, ...destination(login), "--", command];
}

/** Run `command` on a host; ssh's own failures come back as exit status 255, a timeout as 124. */
export function sshRun(login: SshLogin, settings: SshSettings, command: string, bastion?: SshLogin, timeoutMs = 60_000): Promise<RunResult> {
  const [cmd, ...args] = sshArgv(login, settings, command, bastion);
  return run(cmd, args, { timeoutMs });
}

/** The key file to use: `--ssh-key-file`, else the key in $GAUDI_PD_SSH_PRIVATE_KEY written to a private temp file. */
export function withSshKey<T>(keyFile: string | undefined, body: (keyFile: string | undefined) => Promise<T>): Promise<T> {
  const inline = process.env[SSH_KEY_ENV];
  if (keyFile !== undefined) {
    if (!fs.existsSync(keyFile)) throw new CliError([`--ssh-key-file: no such file: ${keyFile}`]);
    return body(keyFile);
  }
  if (!inline) return body(undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gaudi-pd-ssh-"));
  const file = path.join(dir, "key");
  // ssh refuses a key without its final newline; `pulumi config get` drops it.
  fs.writeFileSync(file, inline.endsWith("\n") ? inline : `${inline}\n`, { mode: 0o600 });
  return body(file).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}
