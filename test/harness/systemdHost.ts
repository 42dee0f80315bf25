// systemd test hosts: `systemd-nspawn --boot` over the Debian tree scripts/build-rootfs.sh builds once, so the host
// runtime's systemd mode runs under a real systemd as PID 1, with a stock sshd (Debian's sshd_config: it accepts no
// PULUMI_COMMAND_* variables). Every host mounts the one read-only tree under an overlay of its own that lives as
// long as the run (not --volatile, whose writes a container restart would lose: a restarted host keeps its disk, as
// a rebooted machine does). There is no systemd on this machine, so no machined: --keep-unit --register=no, and each
// nspawn starts in a cgroup of its own in every hierarchy, or the hosts would share one.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { run, runOk } from "../../cli/processes";
import { HOST_LOG_DIR, HOST_STATE_DIR, HostBackend, HostFiles, StartedHost, TestHost } from "./hostKinds";

const NSPAWN = "systemd-nspawn";
const BOOT_LOG = "boot.log";
const PID_FILE = "nspawn.pid";
/** How long a host gets to power off before what is left of it is killed. */
const STOP_SECS = 15;

/** The cgroup hierarchies a process must be moved in: hybrid (systemd + unified, as here) or pure v2. */
function hierarchies(): string[] {
  const hybrid = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"].filter((d) => fs.existsSync(path.join(d, "cgroup.procs")));
  if (hybrid.length) return hybrid;
  return fs.existsSync("/sys/fs/cgroup/cgroup.procs") ? ["/sys/fs/cgroup"] : [];
}

let rootfs: Promise<string> | null = null;
/** The read-only tree every host boots: built once (minutes) and cached, see scripts/build-rootfs.sh. */
function rootfsOf(repo: string): Promise<string> {
  rootfs ??= runOk("bash", [path.join(repo, "scripts", "build-rootfs.sh")], { timeoutMs: 900_000 }).then(
    (r) => r.stdout.trim().split("\n").pop() ?? "",
  );
  return rootfs;
}

/** The host's own writable layer: everything it wrote since it was created. */
export function upperDir(dir: string): string {
  return path.join(dir, "upper");
}

function mergedDir(dir: string): string {
  return path.join(dir, "root");
}

function cgroupsOf(name: string): string[] {
  return hierarchies().map((h) => path.join(h, name));
}

/** Every process in the cgroup trees (nspawn, the host's systemd and all it started). */
function members(groups: readonly string[]): number[] {
  const pids = new Set<number>();
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
      for (const p of fs.readFileSync(path.join(d, "cgroup.procs"), "utf8").split("\n")) if (p) pids.add(Number(p));
    } catch {
      return; // Removed while we looked.
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  groups.forEach(walk);
  return [...pids];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGKILL everything in the groups until they are empty, then remove them (innermost first). */
async function killGroups(groups: readonly string[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let pids = members(groups); pids.length; pids = members(groups)) {
    if (Date.now() > deadline) throw new Error(`processes ${pids.join(" ")} in ${groups.join(", ")} survived SIGKILL for 10 s`);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await sleep(50);
  }
  for (const g of groups) {
    if (!fs.existsSync(g)) continue;
    const dirs = (await runOk("find", [g, "-depth", "-type", "d"])).stdout.split("\n").filter(Boolean);
    for (const d of dirs) fs.rmdirSync(d);
  }
}

function nspawnPid(dir: string): number | null {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, PID_FILE), "utf8"));
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === NSPAWN ? pid : null;
  } catch {
    return null;
  }
}

/** The host's PID 1 (its systemd), as this machine numbers it: nspawn's one child. */
export function leaderPid(dir: string): number {
  const pid = nspawnPid(dir);
  const child = pid === null ? "" : fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)[0];
  if (!child) throw new Error(`the test host in ${dir} is not running`);
  return Number(child);
}

/** Power the host off (systemd shuts down as on `poweroff`), killing what is left after STOP_SECS. */
export async function stopSystemdHost(h: TestHost, dir: string): Promise<void> {
  const pid = nspawnPid(dir);
  if (pid !== null) {
    process.kill(pid, "SIGTERM");
    for (let t = 0; t < STOP_SECS * 10 && nspawnPid(dir) !== null; t++) await sleep(100);
  }
  await killGroups(cgroupsOf(h.name));
}

/** Remove what systemd hosts of a crashed run left: their cgroups, and overlay mounts in any directory whose name starts
 *  with `dirPrefix` (in /tmp, or in the own TMPDIR of an earlier test tier, see scripts/test-tier.sh). */
export async function cleanupSystemdHosts(prefix: string, dirPrefix: string): Promise<void> {
  const groups = hierarchies().flatMap((h) =>
    fs
      .readdirSync(h)
      .filter((n) => n.startsWith(prefix))
      .map((n) => path.join(h, n)),
  );
  await killGroups(groups);
  const mounts = fs
    .readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m): m is string => Boolean(m?.split("/").some((part) => part.startsWith(dirPrefix))))
    .reverse();
  for (const m of mounts) await runOk("umount", [m]);
}

export const systemdHosts: HostBackend = {
  kind: "systemd",
  async preflight() {
    const problems: string[] = [];
    if ((await run("sh", ["-c", `command -v ${NSPAWN}`])).code !== 0) problems.push(`${NSPAWN} not found: apt-get install systemd-container`);
    if ((await run("sh", ["-c", "command -v mmdebstrap"])).code !== 0) problems.push("mmdebstrap not found: apt-get install mmdebstrap");
    if (!hierarchies().length) problems.push("no writable cgroup hierarchy under /sys/fs/cgroup");
    if (!fs.readFileSync("/proc/filesystems", "utf8").includes("\toverlay\n")) problems.push("the kernel has no overlay file system");
    return problems;
  },
  paths(dir) {
    return { stateDir: path.join(mergedDir(dir), HOST_STATE_DIR), logDir: path.join(mergedDir(dir), HOST_LOG_DIR) };
  },
  async start(h: TestHost, dir: string, files: HostFiles): Promise<StartedHost> {
    const tree = await rootfsOf(files.repo);
    const merged = mergedDir(dir);
    if (!fs.existsSync(merged)) {
      for (const d of [upperDir(dir), path.join(dir, "work"), merged]) fs.mkdirSync(d, { recursive: true });
      await runOk("mount", [
        "-t",
        "overlay",
        "overlay",
        "-o",
        `lowerdir=${tree},upperdir=${upperDir(dir)},workdir=${path.join(dir, "work")}`,
        merged,
      ]);
      // The tree's /etc/hostname is the build machine's, and systemd would prefer it to the machine name.
      fs.writeFileSync(path.join(merged, "etc", "hostname"), `${h.name}\n`);
    }
    const groups = cgroupsOf(h.name);
    for (const g of groups) fs.mkdirSync(g, { recursive: true });
    const argv = [
      NSPAWN,
      "--quiet",
      "--boot",
      `--directory=${merged}`,
      `--machine=${h.name}`,
      "--keep-unit",
      "--register=no",
      `--network-namespace-path=/run/netns/${h.name}`,
      "--link-journal=no",
      "--resolv-conf=off",
      "--timezone=off",
      `--bind-ro=${files.authorizedKeys}:/root/.ssh/authorized_keys`,
      // Services get systemd's default PATH: the stand-in, the router and node go where it looks.
      `--bind-ro=${files.bin}:/usr/local/bin`,
      ...[...files.shares, files.node].map((p) => `--bind-ro=${p}`),
    ];
    // Join the host's own cgroups first (this shell becomes nspawn), so hosts never share one.
    const enter = 'n=$1; shift; for ((k = 0; k < n; k++)); do echo $$ >"$1/cgroup.procs"; shift; done; exec "$@"';
    const log = fs.openSync(path.join(dir, BOOT_LOG), "a");
    const child = spawn("bash", ["-c", enter, "enter", String(groups.length), ...groups, ...argv], { detached: true, stdio: ["ignore", log, log] });
    fs.closeSync(log);
    child.unref();
    fs.writeFileSync(path.join(dir, PID_FILE), `${child.pid}\n`);
    return { logs: [path.join(dir, BOOT_LOG)] };
  },
};
