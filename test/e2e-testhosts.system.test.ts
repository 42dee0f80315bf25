// The test-host harness itself: each host is its own machine as far as a node script can tell, and teardown leaves nothing.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { takeHostLock } from "./harness/hostLock";
import { run } from "../cli/processes";
import { HOST_STATE_DIR, PREFIX, TestHosts } from "./harness/testHosts";

const REPO = path.resolve(__dirname, "..");
let hosts: TestHosts;

/** Alive and not a zombie (our own spawned `ip netns exec` lingers as one until node reaps it). */
function isRunning(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0] !== "Z";
  } catch {
    return false;
  }
}

before(async () => {
  hosts = await TestHosts.start([`${PREFIX}a`, `${PREFIX}b`], REPO);
});
after(async () => {
  await hosts?.teardown();
});

test("each host has its own address, name, PID 1 and state directory", async () => {
  for (const h of hosts.hosts) {
    const r = await hosts.ssh(h.name, `hostname; cat /proc/1/comm; ip -4 -o addr show dev eth0; echo ${h.name} > ${HOST_STATE_DIR}/who`);
    assert.equal(r.code, 0, r.stderr);
    const [name, init, addr] = r.stdout.trim().split("\n");
    assert.equal(name, h.name);
    assert.notEqual(init, "systemd");
    assert.match(addr ?? "", new RegExp(` ${h.address.replace(/\./g, "\\.")}/24 `));
    assert.equal(fs.readFileSync(path.join(h.stateDir, "who"), "utf8").trim(), h.name);
  }
  assert.equal(fs.existsSync(path.join(HOST_STATE_DIR, "who")), false, "the root namespace's directory stays untouched");
});

test("a second run cannot take the hosts while this one holds them", async () => {
  assert.equal(await takeHostLock(0), null);
});

test("hosts reach each other but nothing outside the test network", async () => {
  const [a, b] = hosts.hosts;
  const reach = await hosts.ssh(a.name, `exec 3<>/dev/tcp/${b.address}/22 && echo reached`);
  assert.equal(reach.stdout.trim(), "reached", reach.stderr);
  const route = await hosts.ssh(a.name, "ip -4 route show default");
  assert.equal(route.stdout.trim(), "", "no default route: traffic cannot leave 198.18.0.0/24");
});

test("stdin reaches the remote command and PATH finds the stand-ins", async () => {
  const r = await hosts.ssh(hosts.hosts[0].name, "cat; command -v vllm || echo 'no vllm'; command -v vllm-router || echo 'no vllm-router'", {
    stdin: "from-stdin\n",
  });
  assert.equal(r.code, 0, r.stderr);
  const [echoed, vllm, router] = r.stdout.trim().split("\n");
  assert.equal(echoed, "from-stdin");
  assert.match(vllm ?? "", /\/bin\/vllm$/, "sim/bin/vllm must exist");
  assert.match(router ?? "", /\/bin\/vllm-router$/, "run scripts/install-router.sh first");
});

test("a daemonized process is reaped by the host's PID 1, not left a zombie", async () => {
  const r = await hosts.ssh(hosts.hosts[0].name, "(setsid sleep 0.2 &); sleep 0.6; ps -eo stat= | grep -c '^Z' || true");
  assert.equal(r.stdout.trim(), "0");
});

test("teardown kills every process and removes namespaces and links, and may run twice", async () => {
  await hosts.ssh(hosts.hosts[0].name, "(setsid sleep 600 </dev/null >/dev/null 2>&1 &)");
  const pids = (await Promise.all(hosts.hosts.map((h) => hosts.pids(h.name)))).flat();
  assert.ok(pids.length >= 2 * hosts.hosts.length, `init, sshd and the sleep are in the namespaces: ${pids.join(" ")}`);
  await hosts.teardown();
  await hosts.teardown();
  const ns = await run("ip", ["netns", "list"]);
  assert.doesNotMatch(ns.stdout, new RegExp(`^${PREFIX}`, "m"));
  const links = await run("ip", ["-o", "link", "show"]);
  assert.doesNotMatch(links.stdout, new RegExp(`: ${PREFIX}`));
  assert.deepEqual(pids.filter(isRunning), [], "every process of every host, the daemonized sleep included, is gone");
});

test("hosts left behind by a run that died are removed when the next run starts", async () => {
  const abandoned = `${PREFIX}gone`;
  const up = await run(path.join(REPO, "scripts", "test-hosts.sh"), ["up", abandoned]);
  assert.equal(up.code, 0, up.stderr);
  assert.match((await run("ip", ["netns", "list"])).stdout, new RegExp(`^${abandoned}\\b`, "m"));
  const next = await TestHosts.start([`${PREFIX}next`], REPO);
  try {
    const ns = (await run("ip", ["netns", "list"])).stdout;
    assert.doesNotMatch(ns, new RegExp(`^${abandoned}\\b`, "m"));
    assert.match(ns, new RegExp(`^${PREFIX}next\\b`, "m"));
  } finally {
    await next.teardown();
  }
});

test("systemd hosts left behind are removed too: their cgroups, overlay mounts and every process in them", async () => {
  const abandoned = `${PREFIX}gone-sd`;
  const up = await run(path.join(REPO, "scripts", "test-hosts.sh"), ["up", "--systemd", abandoned]);
  assert.equal(up.code, 0, up.stderr);
  const groups = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
    .map((h) => path.join(h, abandoned))
    .filter((g) => fs.existsSync(g));
  assert.ok(groups.length > 0, "the host runs in a cgroup of its own");
  const mounted = () =>
    fs
      .readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .filter((l) => l.includes(`/${abandoned}/root `));
  assert.equal(mounted().length, 1, "the host's overlay is mounted");
  const next = await TestHosts.start([`${PREFIX}next`], REPO);
  try {
    assert.deepEqual(
      groups.filter((g) => fs.existsSync(g)),
      [],
      "cgroups removed",
    );
    assert.deepEqual(mounted(), [], "overlay unmounted");
    assert.doesNotMatch((await run("ip", ["netns", "list"])).stdout, new RegExp(`^${abandoned}\\b`, "m"));
  } finally {
    await next.teardown();
  }
});
