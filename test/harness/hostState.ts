// What runs and listens on test hosts beyond the harness's own processes: the checks a deployment test makes
// after delete or destroy ("nothing left") and while replacing ("this pid did not change").
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { HOST_STATE_DIR, sleep, TestHosts } from "./testHosts";

/** Per host, the harness's own processes (init, sshd): anything else is the deployment's. */
export type Baseline = ReadonlyMap<string, ReadonlySet<number>>;

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
  } catch {
    return "";
  }
}

/** Each host's processes once the harness's readiness SSH sessions have exited: two equal samples in a row. */
export async function takeBaseline(hosts: TestHosts): Promise<Baseline> {
  const baseline = new Map<string, Set<number>>();
  for (const { name } of hosts.hosts) {
    let prev = "";
    for (let t = 0; t < 50; t++) {
      const now = (await hosts.pids(name)).sort().join(" ");
      if (now === prev) break;
      prev = now;
      await sleep(100);
    }
    baseline.set(name, new Set(prev.split(" ").map(Number)));
  }
  return baseline;
}

/** Pids of a host that are neither the harness's nor already gone (zombies and exited sessions excluded). */
export async function strangers(hosts: TestHosts, baseline: Baseline, host: string): Promise<number[]> {
  return (await hosts.pids(host)).filter((pid) => !baseline.get(host)?.has(pid) && cmdline(pid) !== "");
}

/** Listening TCP and bound UDP sockets of a host other than its sshd (on its address, or on every address of a stock sshd). */
export async function listeners(hosts: TestHosts, host: string): Promise<string[]> {
  const r = await hosts.netnsExec(host, ["ss", "-Hltnup"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l.trim() && !/^\S+\s+\S+\s+\d+\s+\d+\s+\S+:22\s/.test(l));
}

/** Every host is back to its harness processes and its sshd port; SSH sessions may take a moment to exit. */
export async function assertHostsClean(hosts: TestHosts, baseline: Baseline): Promise<void> {
  for (const { name } of hosts.hosts) {
    let left: number[] = [];
    for (let t = 0; t < 30; t++) {
      left = await strangers(hosts, baseline, name);
      if (!left.length) break;
      await sleep(100);
    }
    assert.deepEqual(
      left.map((p) => `${p} ${cmdline(p)}`),
      [],
      `processes left on ${name}`,
    );
    assert.deepEqual(await listeners(hosts, name), [], `ports left bound on ${name}`);
  }
}

/** The pid listening on a TCP port of a host, as the root PID namespace numbers it. */
export async function listenerPid(hosts: TestHosts, host: string, port: number): Promise<number | null> {
  const r = await hosts.netnsExec(host, ["ss", "-Hltnp", `sport = :${port}`]);
  const m = /pid=(\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : null;
}

/**
 * What a deployment left on a host, whatever else its init system runs: processes of gaudi-pd's scripts, the
 * stand-in or the router, sockets other than sshd's, gaudi-pd systemd units (systemd hosts), and files in its state
 * directory. Empty when the host is clean; SSH sessions and stopping units get a few seconds to go.
 */
export async function deploymentLeftovers(hosts: TestHosts, host: string): Promise<string[]> {
  const ours = /vllm|gaudi-pd/;
  let left: string[] = [];
  for (let t = 0; t < 50; t++) {
    const procs = (await hosts.pids(host)).map((p) => `${p} ${cmdline(p)}`).filter((c) => ours.test(c));
    const units =
      hosts.host(host).kind === "systemd"
        ? (await hosts.exec(host, ["systemctl", "list-units", "--all", "--plain", "--no-legend", "gaudi-pd-*"])).stdout
            .split("\n")
            .filter((l) => l.trim())
        : [];
    const dir = hosts.host(host).stateDir;
    const files = fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map((f) => `${HOST_STATE_DIR}/${f}`) : [];
    left = [
      ...procs.map((p) => `process ${p}`),
      ...(await listeners(hosts, host)).map((l) => `socket ${l}`),
      ...units.map((u) => `unit ${u}`),
      ...files,
    ];
    if (!left.length) break;
    await sleep(100);
  }
  return left;
}
