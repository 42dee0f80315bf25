// Test hosts: machines a node script reaches over real SSH as root, each with its own address (198.18.0.10, .11, …
// on a switch of their own), network namespace, host name, PID 1 and state/log directories. Two kinds:
//   "netns"   (default) no init system, so the host runtime runs its supervised mode (./netnsHost);
//   "systemd" systemd-nspawn --boot over a cached Debian tree: systemd mode under a stock sshd (./systemdHost).
// Usage (root; one run at a time per machine, others wait on a lock):
//   const hosts = await TestHosts.start(["gpd-a", "gpd-b"], repoRoot, { kind: "systemd" });
//   await hosts.ssh("gpd-a", "bash -s status", { stdin: script });   // as remote.Command runs it
//   hosts.host("gpd-a").address; hosts.keyPath;                      // for other SSH clients: root@address, this key
//   await hosts.exec("gpd-a", ["journalctl", "-u", "x"]);            // systemd hosts: inside, without SSH
//   await hosts.restart("gpd-a");                                     // systemd hosts: power off and boot again
//   await hosts.teardown();
// By hand: scripts/test-hosts.sh up [--systemd] gpd-a gpd-b; scripts/test-hosts.sh ssh gpd-a; scripts/test-hosts.sh down.
// systemd hosts need the tree scripts/build-rootfs.sh builds (minutes, once; GAUDI_PD_ROOTFS_CACHE shares a cache).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HostLock, lockHolderNote, takeHostLock } from "./hostLock";
import { STAND_IN } from "../../sim/standIn";
import { run, RunOptions, RunResult, runOk } from "../../cli/processes";
import { HostBackend, HostFiles, HostKind, TestHost } from "./hostKinds";
import { netnsHosts } from "./netnsHost";
import { cleanupSystemdHosts, leaderPid, stopSystemdHost, systemdHosts, upperDir } from "./systemdHost";

export { HOST_STATE_DIR } from "./hostKinds";
export type { HostKind, TestHost } from "./hostKinds";

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
const BACKENDS: Readonly<Record<HostKind, HostBackend>> = { netns: netnsHosts, systemd: systemdHosts };

interface Manifest {
  readonly root: string;
  readonly key: string;
  readonly files: HostFiles;
  readonly hosts: readonly TestHost[];
}

export interface StartOptions {
  /** "netns" (default): supervised mode; "systemd": systemd as PID 1. */
  readonly kind?: HostKind;
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

  /** The private key that logs in as root on every host (for SSH clients other than `ssh`). */
  get keyPath(): string {
    return this.manifest.key;
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

  /** Run argv inside a systemd host (all its namespaces), bypassing SSH and its session. */
  exec(name: string, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const dir = this.systemdDir(name);
    return run("nsenter", ["--target", String(leaderPid(dir)), "--all", "--", ...argv], { timeoutMs: 60_000, ...opts });
  }

  /** Power a systemd host off and boot it again with the same disk, as a machine reboot does; returns once SSH answers. */
  async restart(name: string): Promise<void> {
    const h = this.host(name);
    const dir = this.systemdDir(name);
    await stopSystemdHost(h, dir);
    const started = await systemdHosts.start(h, dir, this.manifest.files);
    await this.waitForSsh(h, started.logs);
  }

  /** A systemd host's own writable layer: every file it created or changed since it was started, and nothing else. */
  writtenDir(name: string): string {
    return upperDir(this.systemdDir(name));
  }

  private systemdDir(name: string): string {
    if (this.host(name).kind !== "systemd") throw new Error(`${name} is not a systemd test host`);
    return path.join(this.manifest.root, name);
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
  static async start(names: readonly string[], repoRoot: string, opts: StartOptions = {}): Promise<TestHosts> {
    const backend = BACKENDS[opts.kind ?? "netns"];
    await preflight(backend);
    const lock = await takeHostLock(LOCK_WAIT_SECS);
    if (!lock) throw new Error(`test hosts: another run (${lockHolderNote()}) kept its hosts for more than ${LOCK_WAIT_SECS} s`);
    try {
      await cleanupLeftovers();
      const { manifest, logs } = await setup(names, repoRoot, backend);
      const th = new TestHosts(manifest, lock);
      await Promise.all(manifest.hosts.map((h, k) => th.waitForSsh(h, logs[k])));
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

  private async waitForSsh(h: TestHost, logs: readonly string[]): Promise<void> {
    const deadline = Date.now() + 30_000;
    let last: RunResult;
    do {
      last = await this.ssh(h.name, "echo ok", { timeoutMs: 10_000 });
      if (last.code === 0 && last.stdout.trim() === "ok") return;
      await sleep(100);
    } while (Date.now() < deadline);
    const tail = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").slice(-20).join("\n") : "(none)");
    throw new Error(
      `test host ${h.name} (${h.address}): ssh did not answer within 30 s: ${last.stderr.trim()}\n` +
        logs.map((f) => `--- ${path.basename(f)} ---\n${tail(f)}`).join("\n"),
    );
  }
}

async function setup(names: readonly string[], repoRoot: string, backend: HostBackend): Promise<{ manifest: Manifest; logs: string[][] }> {
  if (new Set(names).size !== names.length || names.some((n) => !n.startsWith(PREFIX) || n.length > 15 || n === SWITCH))
    throw new Error(`test host names must be unique, start with ${PREFIX}, fit 15 characters and not be ${SWITCH}: ${names.join(", ")}`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX));
  const key = path.join(root, "id_ed25519");
  await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "gaudi-pd-test", "-f", key]);
  const files = hostFiles(root, repoRoot);
  fs.copyFileSync(`${key}.pub`, files.authorizedKeys);

  await runOk("ip", ["netns", "add", SWITCH]);
  await runOk("ip", ["-n", SWITCH, "link", "add", "br0", "type", "bridge"]);
  await runOk("ip", ["-n", SWITCH, "link", "set", "br0", "up"]);
  await runOk("ip", ["link", "add", UPLINK, "type", "veth", "peer", "name", "uplink", "netns", SWITCH]);
  await runOk("ip", ["-n", SWITCH, "link", "set", "uplink", "master", "br0", "up"]);
  await runOk("ip", ["addr", "add", `${GATEWAY}/24`, "dev", UPLINK]);
  await runOk("ip", ["link", "set", UPLINK, "up"]);

  const hosts = names.map((name, k): TestHost => {
    const dir = path.join(root, name);
    return { name, address: `${SUBNET}.${FIRST_HOST_OCTET + k}`, kind: backend.kind, ...backend.paths(dir) };
  });
  const manifest: Manifest = { root, key, files, hosts };
  fs.writeFileSync(path.join(root, MANIFEST), JSON.stringify(manifest, null, 2));
  const started = await Promise.all(
    hosts.map(async (h, k) => {
      const dir = path.join(root, h.name);
      fs.mkdirSync(dir);
      await hostNetwork(h, `port${k}`);
      return backend.start(h, dir, files);
    }),
  );
  return { manifest, logs: started.map((s) => [...s.logs]) };
}

/** The run's key file and bin directory, and the real paths hosts need to see (symlinks resolve inside a host). */
function hostFiles(root: string, repoRoot: string): HostFiles {
  const bin = path.join(root, "bin");
  fs.mkdirSync(bin);
  const node = fs.realpathSync(process.execPath);
  const shares = [fs.realpathSync(repoRoot)];
  // The stand-in and the router are found on PATH, as real vllm and vllm-router would be on a real host.
  fs.symlinkSync(STAND_IN, path.join(bin, "vllm"));
  fs.symlinkSync(node, path.join(bin, "node"));
  const python = path.join(repoRoot, ".venv-router", "bin", "python");
  if (fs.existsSync(python)) {
    const venv = fs.realpathSync(path.join(repoRoot, ".venv-router"));
    fs.symlinkSync(path.join(venv, "bin", "vllm-router"), path.join(bin, "vllm-router"));
    const prefix = path.dirname(path.dirname(fs.realpathSync(python)));
    // A distribution Python (under /usr) is in the systemd hosts' tree too.
    shares.push(venv, ...(prefix.startsWith("/usr/") ? [] : [prefix]));
  }
  return { repo: shares[0], authorizedKeys: path.join(root, "authorized_keys"), bin, node, shares };
}

/** The host's network namespace, its leg on the switch (`switchPort`) and its own end, `eth0`, at its address. */
async function hostNetwork(h: TestHost, switchPort: string): Promise<void> {
  await runOk("ip", ["netns", "add", h.name]);
  await runOk("ip", ["link", "add", switchPort, "netns", SWITCH, "type", "veth", "peer", "name", "eth0", "netns", h.name]);
  await runOk("ip", ["-n", SWITCH, "link", "set", switchPort, "master", "br0", "up"]);
  await runOk("ip", ["-n", h.name, "addr", "add", `${h.address}/24`, "dev", "eth0"]);
  await runOk("ip", ["-n", h.name, "link", "set", "lo", "up"]);
  await runOk("ip", ["-n", h.name, "link", "set", "eth0", "up"]);
}

function sshArgs(key: string): string[] {
  return [
    "-F",
    "/dev/null",
    "-i",
    key,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ConnectTimeout=5",
  ];
}

async function preflight(backend: HostBackend): Promise<void> {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push(`test hosts need root (network namespaces, bind mounts); running as uid ${process.getuid?.()}`);
  else {
    const netns = await run("ip", ["netns", "list"]);
    if (netns.code !== 0) problems.push(`'ip netns' does not work (${netns.stderr.trim()}): apt-get install iproute2`);
  }
  problems.push(...(await backend.preflight()));
  const tools = [
    ["ssh", "openssh-client"],
    ["ssh-keygen", "openssh-client"],
    ["unshare", "util-linux"],
    ["nsenter", "util-linux"],
    ["flock", "util-linux"],
    ["ss", "iproute2"],
  ];
  for (const [tool, pkg] of tools) {
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

/** Stop every harness host (systemd hosts first: cgroups, overlays), delete namespaces, links and temp dirs. Idempotent. */
async function cleanupLeftovers(): Promise<void> {
  await cleanupSystemdHosts(PREFIX, TMP_PREFIX);
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
