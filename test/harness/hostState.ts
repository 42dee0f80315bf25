// What runs and listens on test hosts beyond the harness's own processes: the checks a deployment test makes
// after delete or destroy ("nothing left") and while replacing ("this pid did not change").
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { sleep, TestHosts } from "./testHosts";

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

/** Listening TCP and bound UDP sockets of a host other than its sshd's port 22. */
export async function listeners(hosts: TestHosts, host: string): Promise<string[]> {
  const r = await hosts.netnsExec(host, ["ss", "-Hltnup"]);
  assert.equal(r.code, 0, r.stderr);
  // The harness's sshd listens on the host's address, a systemd host's stock sshd on every address.
  const sshd = (l: string) => /:22\s/.test(l) && l.includes('(("sshd",');
  return r.stdout.split("\n").filter((l) => l.trim() && !sshd(l));
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
    assert.deepEqual(left.map((p) => `${p} ${cmdline(p)}`), [], `processes left on ${name}`);
    assert.deepEqual(await listeners(hosts, name), [], `ports left bound on ${name}`);
  }
}

/** The pid listening on a TCP port of a host, as the root PID namespace numbers it. */
export async function listenerPid(hosts: TestHosts, host: string, port: number): Promise<number | null> {
  const r = await hosts.netnsExec(host, ["ss", "-Hltnp", `sport = :${port}`]);
  const m = /pid=(\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : null;
}
