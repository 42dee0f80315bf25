// Test hosts: one network namespace per host with its own address, sshd, PID namespace, /run, /root,
// and state/log directories, so a node script run over real SSH sees what it would see on its own machine.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HostLock, lockHolderNote, takeHostLock } from "./hostLock";
import { STAND_IN } from "../../sim/standIn";
import { run, RunOptions, RunResult, runOk } from "../../cli/processes";

/** Every namespace and link the harness creates starts with this, so leftovers can be found and removed. */
export const PREFIX = "gpd-";
/**
 * The hosts' switch: a bridge in a namespace of its own, so its frames meet only that namespace's (empty)
 * firewall, never this machine's (Docker's FORWARD DROP would otherwise cut hosts off from each other).
 */
const SWITCH = `${PREFIX}switch`;
/** This machine's leg into the switch, holding the gateway address the tests reach hosts from. */
const UPLINK = `${PREFIX}uplink`;
/** RFC 2544 benchmarking range: never a real network. */
const SUBNET = "198.18.0";
const GATEWAY = `${SUBNET}.1`;
const FIRST_HOST_OCTET = 10;
const TMP_PREFIX = "gaudi-pd-testhosts-";
/** How long a run waits for another run's hosts to go (a whole e2e file takes well under this). */
const LOCK_WAIT_SECS = 300;
const MANIFEST = "manifest.json";
/** The directories each host gets its own copy of (the topology's default stateDir and logDir). */
export const HOST_STATE_DIR = "/var/lib/gaudi-pd";
const HOST_LOG_DIR = "/var/log/gaudi-pd";
const SSHD = "/usr/sbin/sshd";

export interface TestHost {
  /** Host name, also its network namespace name (`gpd-prefill-0`). */
  readonly name: string;
  readonly address: string;
  /** Where this host's /var/lib/gaudi-pd and /var/log/gaudi-pd live, seen from the test process. */
  readonly stateDir: string;
  readonly logDir: string;
}

interface Manifest {
  readonly root: string;
  readonly key: string;
  readonly hosts: readonly TestHost[];
}

/** Running test hosts. `ssh` runs a command as root the way remote.Command would: one command string, optional stdin. */
export class TestHosts {
  private constructor(
    private readonly manifest: Manifest,
    private lock: HostLock | null,
  ) {}

  get hosts(): readonly TestHost[] {
    return this.manifest.hosts;
  }

  host(name: string): TestHost {
    const h = this.manifest.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no test host ${name} (hosts: ${this.manifest.hosts.map((x) => x.name).join(", ")})`);
    return h;
  }

  ssh(name: string, command: string, opts: RunOptions = {}): Promise<RunResult> {
    return run("ssh", [...sshArgs(this.manifest.key), `root@${this.host(name).address}`, "--", command], { timeoutMs: 120_000, ...opts });
  }

  /** Run argv in the host's network namespace only (e.g. `ss -ltnp`), bypassing SSH. */
  netnsExec(name: string, argv: readonly string[]): Promise<RunResult> {
    return run("ip", ["netns", "exec", this.host(name).name, ...argv], { timeoutMs: 30_000 });
  }

  /** Pids of every process in the host's network namespace, as the root PID namespace numbers them. */
  async pids(name: string): Promise<number[]> {
    return netnsPids(this.host(name).name);
  }

  /** The private key every host accepts for root (what a stack's sshPrivateKey would be). */
  get keyFile(): string {
    return this.manifest.key;
  }

  /** The ssh client argv (minus the command), for debugging by hand. */
  sshArgv(name: string): string[] {
    return ["ssh", ...sshArgs(this.manifest.key), `root@${this.host(name).address}`];
  }

  /** Remove the hosts and free the lock; a second call (or one after the lock went) touches nothing of another run's. */
  async teardown(): Promise<void> {
    const lock = this.lock ?? (await takeHostLock(0));
    this.lock = null;
    if (!lock) return;
    try {
      await cleanupLeftovers();
    } finally {
      await lock.release();
    }
  }

  /** Start hosts with these names (addresses 198.18.0.10, .11, … in order); leftovers of a crashed run go first. */
  static async start(names: readonly string[], repoRoot: string): Promise<TestHosts> {
    await preflight();
    const lock = await takeHostLock(LOCK_WAIT_SECS);
    if (!lock) throw new Error(`test hosts: another run (${lockHolderNote()}) kept its hosts for more than ${LOCK_WAIT_SECS} s`);
    try {
      await cleanupLeftovers();
      const manifest = await setup(names, repoRoot);
      const th = new TestHosts(manifest, lock);
      await Promise.all(manifest.hosts.map((h) => th.waitForSsh(h, path.join(manifest.root, h.name))));
      return th;
    } catch (e) {
      await cleanupLeftovers();
      await lock.release();
      throw e;
    }
  }

  /** Attach to hosts a previous `start` left running (for scripts/test-hosts.sh). */
  static attach(): TestHosts {
    const dirs = leftoverDirs();
    if (dirs.length !== 1) throw new Error(`expected one running set of test hosts, found ${dirs.length} (${dirs.join(", ") || "none"})`);
    return new TestHosts(JSON.parse(fs.readFileSync(path.join(dirs[0], MANIFEST), "utf8")) as Manifest, null);
  }

  private async waitForSsh(h: TestHost, dir: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    let last: RunResult;
    do {
      last = await this.ssh(h.name, "echo ok", { timeoutMs: 10_000 });
      if (last.code === 0 && last.stdout.trim() === "ok") return;
      await sleep(100);
    } while (Date.now() < deadline);
    const tail = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").slice(-20).join("\n") : "(none)");
    throw new Error(
      `test host ${h.name} (${h.address}): ssh did not answer within 15 s: ${last.stderr.trim()}\n` +
        `--- init.log ---\n${tail(path.join(dir, "init.log"))}\n--- sshd.log ---\n${tail(path.join(dir, "sshd.log"))}`,
    );
  }
}

async function setup(names: readonly string[], repoRoot: string): Promise<Manifest> {
  if (new Set(names).size !== names.length || names.some((n) => !n.startsWith(PREFIX) || n.length > 15 || n === SWITCH))
    throw new Error(`test host names must be unique, start with ${PREFIX}, fit 15 characters and not be ${SWITCH}: ${names.join(", ")}`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX));
  const key = path.join(root, "id_ed25519");
  await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "gaudi-pd-test", "-f", key]);
  fs.copyFileSync(`${key}.pub`, path.join(root, "authorized_keys"));
  const bin = path.join(root, "bin");
  fs.mkdirSync(bin);
  // The stand-in and the router are found on PATH, as real vllm and vllm-router would be on a real host.
  fs.symlinkSync(STAND_IN, path.join(bin, "vllm"));
  fs.symlinkSync(path.join(repoRoot, ".venv-router", "bin", "vllm-router"), path.join(bin, "vllm-router"));
  const searchPath = [...new Set([bin, "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin", path.dirname(process.execPath)])].join(":");
  for (const dir of [HOST_STATE_DIR, HOST_LOG_DIR]) fs.mkdirSync(dir, { recursive: true });

  await runOk("ip", ["netns", "add", SWITCH]);
  await runOk("ip", ["-n", SWITCH, "link", "add", "br0", "type", "bridge"]);
  await runOk("ip", ["-n", SWITCH, "link", "set", "br0", "up"]);
  await runOk("ip", ["link", "add", UPLINK, "type", "veth", "peer", "name", "uplink", "netns", SWITCH]);
  await runOk("ip", ["-n", SWITCH, "link", "set", "uplink", "master", "br0", "up"]);
  await runOk("ip", ["addr", "add", `${GATEWAY}/24`, "dev", UPLINK]);
  await runOk("ip", ["link", "set", UPLINK, "up"]);

  const hosts = names.map((name, k): TestHost => {
    const dir = path.join(root, name);
    return { name, address: `${SUBNET}.${FIRST_HOST_OCTET + k}`, stateDir: path.join(dir, "state"), logDir: path.join(dir, "log") };
  });
  const manifest: Manifest = { root, key, hosts };
  fs.writeFileSync(path.join(root, MANIFEST), JSON.stringify(manifest, null, 2));
  const shares = homeShares(repoRoot);
  await Promise.all(hosts.map((h, k) => startHost(h, `port${k}`, root, searchPath, shares)));
  return manifest;
}

function sshArgs(key: string): string[] {
  return [
    "-F", "/dev/null",
    "-i", key,
    "-o", "IdentitiesOnly=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "BatchMode=yes",
    "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=5",
  ];
}

/**
 * PID 1 of a host: its host name, private mounts for the state, log, home and /run directories, then sshd. It reaps
 * orphans (daemonized supervisors) while it waits, and when sshd exits the kernel ends the whole host.
 * Arguments 7… are paths under /root bound read-only into the host's own /root before it hides the real one.
 */
const HOST_INIT = `set -eu
hostname "$6"
mount --bind "$1" ${HOST_STATE_DIR}
mount --bind "$2" ${HOST_LOG_DIR}
for share in "\${@:7}"; do
  mkdir -p "$3/\${share#/root/}"
  mount --bind -o ro "$share" "$3/\${share#/root/}"
done
mount --rbind "$3" /root
mount -t tmpfs -o mode=0755,size=64m tmpfs /run
install -d -m 0755 /run/sshd
${SSHD} -D -f "$4" -E "$5" &
wait $!
`;

function sshdConfig(h: TestHost, dir: string, root: string, searchPath: string): string {
  return [
    `ListenAddress ${h.address}:22`,
    `HostKey ${dir}/ssh_host_ed25519_key`,
    `PidFile none`,
    `AuthorizedKeysFile ${root}/authorized_keys`,
    `PermitRootLogin prohibit-password`,
    `PubkeyAuthentication yes`,
    `PasswordAuthentication no`,
    `KbdInteractiveAuthentication no`,
    `UsePAM no`,
    `StrictModes no`,
    `UseDNS no`,
    // Node groups start concurrently; keep sshd from refusing the burst.
    `MaxStartups 100`,
    `MaxSessions 100`,
    `SetEnv PATH=${searchPath}`,
    `LogLevel INFO`,
    "",
  ].join("\n");
}

/**
 * Paths under /root that hosts need from this machine (the repo, the Python the router's venv links to, Node.js):
 * each host's own /root, which keeps this machine's shell startup files out of SSH sessions, would hide them.
 */
function homeShares(repoRoot: string): string[] {
  const needed = [repoRoot, path.dirname(path.dirname(process.execPath))];
  const python = path.join(repoRoot, ".venv-router", "bin", "python");
  if (fs.existsSync(python)) needed.push(path.dirname(path.dirname(fs.realpathSync(python))));
  return [...new Set(needed.map((p) => fs.realpathSync(p)))].filter((p) => p.startsWith("/root/"));
}

/** `switchPort` names the host's leg on the switch; its own end is `eth0`. */
async function startHost(h: TestHost, switchPort: string, root: string, searchPath: string, shares: readonly string[]): Promise<void> {
  const dir = path.join(root, h.name);
  const home = path.join(dir, "home");
  for (const d of [h.stateDir, h.logDir, home]) fs.mkdirSync(d, { recursive: true });
  await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "ssh_host_ed25519_key")]);
  const config = path.join(dir, "sshd_config");
  fs.writeFileSync(config, sshdConfig(h, dir, root, searchPath));

  await runOk("ip", ["netns", "add", h.name]);
  await runOk("ip", ["link", "add", switchPort, "netns", SWITCH, "type", "veth", "peer", "name", "eth0", "netns", h.name]);
  await runOk("ip", ["-n", SWITCH, "link", "set", switchPort, "master", "br0", "up"]);
  await runOk("ip", ["-n", h.name, "addr", "add", `${h.address}/24`, "dev", "eth0"]);
  await runOk("ip", ["-n", h.name, "link", "set", "lo", "up"]);
  await runOk("ip", ["-n", h.name, "link", "set", "eth0", "up"]);

  const log = fs.openSync(path.join(dir, "init.log"), "a");
  const init = spawn(
    "ip",
    ["netns", "exec", h.name, "unshare", "--mount", "--propagation", "private", "--uts", "--pid", "--fork", "--mount-proc",
      "bash", "-c", HOST_INIT, "init", h.stateDir, h.logDir, home, config, path.join(dir, "sshd.log"), h.name, ...shares],
    { detached: true, stdio: ["ignore", log, log] },
  );
  init.unref();
  fs.closeSync(log);
}

async function preflight(): Promise<void> {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push(`test hosts need root (network namespaces, bind mounts); running as uid ${process.getuid?.()}`);
  else {
    const netns = await run("ip", ["netns", "list"]);
    if (netns.code !== 0) problems.push(`'ip netns' does not work (${netns.stderr.trim()}): apt-get install iproute2`);
  }
  if (!fs.existsSync(SSHD)) problems.push(`${SSHD} not found: apt-get install openssh-server`);
  for (const [tool, pkg] of [["ssh", "openssh-client"], ["ssh-keygen", "openssh-client"], ["unshare", "util-linux"], ["flock", "util-linux"], ["ss", "iproute2"]]) {
    if ((await run("sh", ["-c", `command -v ${tool}`])).code !== 0) problems.push(`${tool} not found: apt-get install ${pkg}`);
  }
  const taken = await run("ip", ["-4", "-o", "addr", "show", "to", `${SUBNET}.0/24`]);
  const foreign = taken.stdout.split("\n").filter((l) => l.trim() && !l.split(/\s+/)[1]?.startsWith(PREFIX));
  if (foreign.length) problems.push(`${SUBNET}.0/24 is already in use on this machine: ${foreign.join("; ")}`);
  if (problems.length) throw new Error(`cannot start test hosts:\n${problems.join("\n")}`);
}

async function netnsPids(ns: string): Promise<number[]> {
  const r = await run("ip", ["netns", "pids", ns]);
  return r.code === 0 ? r.stdout.split(/\s+/).filter(Boolean).map(Number) : [];
}

function leftoverDirs(): string[] {
  return fs
    .readdirSync(os.tmpdir())
    .filter((d) => d.startsWith(TMP_PREFIX))
    .map((d) => path.join(os.tmpdir(), d));
}

/** Kill every process in every harness namespace, delete namespaces, links and temp dirs. Idempotent. */
async function cleanupLeftovers(): Promise<void> {
  const list = await run("ip", ["netns", "list"]);
  const namespaces = list.stdout
    .split("\n")
    .map((l) => l.split(/\s+/)[0])
    .filter((n) => n?.startsWith(PREFIX));
  for (const ns of namespaces) {
    const deadline = Date.now() + 10_000;
    for (let pids = await netnsPids(ns); pids.length; pids = await netnsPids(ns)) {
      if (Date.now() > deadline) throw new Error(`processes ${pids.join(" ")} in namespace ${ns} survived SIGKILL for 10 s`);
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Already gone between listing and killing.
        }
      }
      await sleep(50);
    }
    await run("ip", ["netns", "del", ns]);
  }
  const links = await run("ip", ["-o", "link", "show"]);
  const names = links.stdout
    .split("\n")
    .map((l) => l.split(": ")[1]?.split("@")[0])
    .filter((n): n is string => Boolean(n?.startsWith(PREFIX)));
  for (const name of names) await run("ip", ["link", "del", name]);
  for (const dir of leftoverDirs()) fs.rmSync(dir, { recursive: true, force: true });
}

/** Remove test hosts left by a run that has ended (scripts/test-hosts.sh down); refuses while a run holds them. */
export async function cleanupTestHosts(): Promise<void> {
  const lock = await takeHostLock(0);
  if (!lock) throw new Error(`test hosts are in use by a running test (${lockHolderNote()})`);
  try {
    await cleanupLeftovers();
  } finally {
    await lock.release();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
