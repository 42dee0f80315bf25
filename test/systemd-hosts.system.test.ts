// The host runtime's systemd mode under a real systemd (PID 1 of systemd-nspawn test hosts), reached over a stock sshd
// exactly as the remote commands reach a host: `scriptCommands(...).create` with the script on stdin, `.delete`.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { bindAddresses, ClusterPlan } from "../components/plan";
import { hfTokenCommands, hfTokenEnv, scriptCommands } from "../components/render/hostCommands";
import { scriptPath } from "../components/names";
import { renderNodeScript } from "../components/render/nodeScript";
import { renderRouterScript } from "../components/render/routerScript";
import { completionRequest, generatedText, post } from "../sim/completionClient";
import { run, RunResult } from "../cli/processes";
import { HOST_STATE_DIR, sleep, TestHosts } from "./harness/testHosts";
import { addressesOf, dpClusterPlan, hostOf, TEST_MODEL, TEST_ROUTER_PORT } from "./harness/testHostCluster";
import { listeners } from "./harness/hostState";

const REPO = path.resolve(__dirname, "..");
/** Plan node name → test host; addresses follow this order (198.18.0.10, .11, …). */
const NODES = ["prefill-0", "decode-0", "router"] as const;
const MODEL = TEST_MODEL;
const ROUTER_PORT = TEST_ROUTER_PORT;
const STATE_DIR = HOST_STATE_DIR;

let hosts: TestHosts;

const addresses = () => addressesOf(hosts, NODES);

const planFor = (extra: { healthTimeoutSecs: number; decodeEnv?: Record<string, string> }): ClusterPlan =>
  dpClusterPlan(addresses(), { nodesPerRole: 1, ...extra });

const show = (what: string, r: RunResult) => `${what} exited ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

function scriptOf(plan: ClusterPlan, node: string): string {
  const bound = bindAddresses(plan, addresses());
  return node === "router" ? renderRouterScript(bound) : renderNodeScript(bound, node);
}

/** One node's create, as remote.Command runs it: the script on stdin. */
function create(plan: ClusterPlan, node: string): Promise<RunResult> {
  return hosts.ssh(hostOf(node), scriptCommands(plan.topology.stateDir, node).create, {
    stdin: scriptOf(plan, node),
    timeoutMs: (plan.topology.healthTimeoutSecs + 60) * 1000,
  });
}

async function deleteOn(plan: ClusterPlan, node: string): Promise<void> {
  const r = await hosts.ssh(hostOf(node), scriptCommands(plan.topology.stateDir, node).delete);
  assert.equal(r.code, 0, show(`delete on ${node}`, r));
}

before(async () => {
  const t0 = Date.now();
  hosts = await TestHosts.start(NODES.map(hostOf), REPO, { kind: "systemd" });
  console.log(`# ${NODES.length} systemd hosts answer SSH after ${Date.now() - t0} ms`);
});
after(async () => {
  await hosts?.teardown();
});

const plan1 = () => planFor({ healthTimeoutSecs: 60 });

test("each host boots systemd as PID 1 behind a stock sshd that accepts no PULUMI_COMMAND_* variable", async () => {
  for (const h of hosts.hosts) {
    const r = await hosts.ssh(h.name, "hostname; cat /proc/1/comm; systemctl is-system-running --wait; sshd -T | grep -i '^acceptenv' || true");
    assert.equal(r.code, 0, show(h.name, r));
    const [name, init, state, ...accept] = r.stdout.trim().split("\n");
    assert.deepEqual([name, init, state], [h.name, "systemd", "running"]);
    assert.ok(!accept.join(" ").includes("PULUMI"), `sshd accepts ${accept.join(" ")}`);
  }
  // What the command provider sends when addPreviousOutputInEnv is on: a stock sshd drops it.
  const [ssh, ...args] = hosts.sshArgv(hosts.hosts[0].name);
  const sent = await run(ssh, ["-o", "SendEnv=PULUMI_COMMAND_STDOUT LANG", ...args, "--", "echo ${PULUMI_COMMAND_STDOUT-unset} $LANG"], {
    env: { PULUMI_COMMAND_STDOUT: "x", LANG: "C.UTF-8" },
  });
  assert.equal(sent.stdout.trim(), "unset C.UTF-8", show("ssh with SendEnv", sent));
});

test("every node comes up in systemd mode over SSH with install start wait, then the router; requests succeed", async () => {
  const plan = plan1();
  for (const n of plan.nodes) {
    const token = await hosts.ssh(hostOf(n.name), hfTokenCommands(STATE_DIR).create, { stdin: hfTokenEnv("hf_NotARealToken") });
    assert.equal(token.code, 0, show(`token on ${n.name}`, token));
  }
  const t0 = Date.now();
  const results = await Promise.all(plan.nodes.map((n) => create(plan, n.name)));
  results.forEach((r, k) => assert.equal(r.code, 0, show(`create on ${plan.nodes[k].name}`, r)));
  const router = await create(plan, "router");
  assert.equal(router.code, 0, show("create on router", router));
  console.log(`# nodes and router ready in ${Date.now() - t0} ms`);
  for (const node of [...plan.nodes.map((n) => n.name), "router"]) {
    assert.ok(fs.existsSync(path.join(hosts.host(hostOf(node)).stateDir, `${node}.sh`)), `${scriptPath(STATE_DIR, node)} kept`);
    assert.match((await hosts.ssh(hostOf(node), `cat ${STATE_DIR}/${node}/mode`)).stdout, /^systemd$/m);
  }
  for (let k = 0; k < 4; k++) {
    const { path: p, body } = completionRequest(k % 2 ? "chat" : "completions", MODEL, `request ${k}`, k >= 2);
    const r = await post(`http://${plan.router.address}:${ROUTER_PORT}${p}`, body, 30_000);
    assert.equal(r.status, 200, `${r.status} ${r.text}`);
    assert.notEqual(generatedText(r), "", r.text);
  }
});

/** Poll `check` every 500 ms until it returns a value, failing with `what` after `secs`. */
async function until<T>(what: string, secs: number, check: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + secs * 1000;
  for (;;) {
    const v = await check();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${secs} s`);
    await sleep(500);
  }
}

const UNIT = (node: string, key: string) => `gaudi-pd-${node}@${key}.service`;

async function unitProps(node: string, unit: string): Promise<Record<string, string>> {
  const r = await hosts.ssh(
    hostOf(node),
    `systemctl show -p MainPID -p NRestarts -p ActiveState -p UnitFileState -p LimitMEMLOCK -p LimitNOFILE ${unit}`,
  );
  assert.equal(r.code, 0, show("systemctl show", r));
  return Object.fromEntries(
    r.stdout
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

async function statusOk(plan: ClusterPlan, node: string): Promise<boolean> {
  return (await hosts.ssh(hostOf(node), `bash ${scriptPath(plan.topology.stateDir, node)} status`)).code === 0;
}

async function requestsSucceed(plan: ClusterPlan, n: number): Promise<void> {
  for (let k = 0; k < n; k++) {
    const { path: p, body } = completionRequest(k % 2 ? "chat" : "completions", MODEL, `request ${k}`, k % 3 === 0);
    const r = await post(`http://${plan.router.address}:${ROUTER_PORT}${p}`, body, 30_000);
    assert.equal(r.status, 200, `${r.status} ${r.text}`);
    assert.notEqual(generatedText(r), "", r.text);
  }
}

/** Requests through the router succeed within 30 s (it re-checks workers that were down on its own schedule). */
async function routerServes(plan: ClusterPlan, when: string): Promise<void> {
  await until(`the router serving ${when}`, 30, async () => {
    try {
      await requestsSucceed(plan, 4);
      return true;
    } catch {
      return null;
    }
  });
}

test("a SIGKILLed instance is restarted by systemd (NRestarts counts it) and the cluster serves again", async () => {
  const plan = plan1();
  const unit = UNIT("decode-0", "decode-1");
  const before = await unitProps("decode-0", unit);
  assert.equal(before.NRestarts, "0");
  const kill = await hosts.ssh(hostOf("decode-0"), `kill -KILL ${before.MainPID}`);
  assert.equal(kill.code, 0, show("kill", kill));
  const t0 = Date.now();
  const after = await until("NRestarts 1 and a new main process", 30, async () => {
    const p = await unitProps("decode-0", unit);
    return p.NRestarts === "1" && p.ActiveState === "active" && p.MainPID !== before.MainPID && p.MainPID !== "0" ? p : null;
  });
  await until("every decode instance healthy again", 60, async () => ((await statusOk(plan, "decode-0")) ? true : null));
  console.log(`# decode-1 SIGKILLed: restarted as pid ${after.MainPID}, decode-0 healthy again after ${Date.now() - t0} ms`);
  await routerServes(plan, "again after the kill");
});

test("instance output is in journald and in the launcher's log file, with the limits the instance really got", async () => {
  const unit = UNIT("decode-0", "decode-1");
  const host = hostOf("decode-0");
  const journal = await hosts.ssh(host, `journalctl -u ${unit} -o cat --no-pager`);
  const launches = journal.stdout.split("\n").filter((l) => l.startsWith("[gaudi-pd launcher "));
  assert.equal(launches.length, 2, `the first start and the restart, in the journal:\n${journal.stdout}`);
  const logPath = (await hosts.ssh(host, `cat ${STATE_DIR}/decode-0/decode-1.log-path`)).stdout.trim();
  assert.match(logPath, /^\/var\/log\/gaudi-pd\/vllm_server_\d{8}_\d{6}_.*\.log$/);
  const log = fs.readFileSync(path.join(hosts.host(host).logDir, path.basename(logPath)), "utf8");
  for (const l of launches) assert.ok(log.includes(l), `log file ${logPath} lacks ${l}`);
  // The unit asks for more than this sandbox allows; whatever systemd granted is what the launcher reports.
  const props = await unitProps("decode-0", unit);
  const limits = (await hosts.ssh(host, `cat /proc/${props.MainPID}/limits`)).stdout;
  const soft = (name: string) => new RegExp(`^${name}\\s+(\\S+)`, "m").exec(limits)?.[1];
  const locked = soft("Max locked memory");
  const files = soft("Max open files");
  const [, reportedLocked, reportedFiles] = /max locked memory: (\S+), max open files: (\S+)\)/.exec(launches[1]) ?? [];
  assert.equal(reportedFiles, files, `${launches[1]} vs /proc limits:\n${limits}`);
  assert.equal(reportedLocked === "unlimited" ? "unlimited" : String(Number(reportedLocked) * 1024), locked, `${launches[1]} vs ${limits}`);
  console.log(`# unit asks LimitMEMLOCK=${props.LimitMEMLOCK} LimitNOFILE=${props.LimitNOFILE}; the instance got ${locked} / ${files}`);
});

test("restarting a host's container brings every instance back with no gaudi-pd action (units enabled)", async () => {
  const plan = plan1();
  assert.equal((await unitProps("decode-0", UNIT("decode-0", "decode-0"))).UnitFileState, "enabled");
  const t0 = Date.now();
  await Promise.all(["decode-0", "router"].map((n) => hosts.restart(hostOf(n))));
  const booted = Date.now() - t0;
  for (const n of ["decode-0", "router"]) await until(`${n} healthy after its restart`, 60, async () => ((await statusOk(plan, n)) ? true : null));
  console.log(`# decode-0 and router hosts restarted: SSH after ${booted} ms, every instance healthy after ${Date.now() - t0} ms`);
  await routerServes(plan, "after the restart");
});

/** Files gaudi-pd wrote on a host that are still there, logs excepted (the host's own writable layer, seen from outside). */
function gaudiPdFiles(node: string): string[] {
  const upper = hosts.writtenDir(hostOf(node));
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const onHost = p.slice(upper.length);
      if (onHost.startsWith("/var/log/gaudi-pd") || onHost.startsWith("/proc")) continue;
      if (onHost.includes("gaudi-pd")) found.push(onHost);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(upper);
  return found;
}

/** No gaudi-pd unit, process or port, and no gaudi-pd file but the logs. */
async function assertClean(node: string): Promise<void> {
  const host = hostOf(node);
  const units = await hosts.ssh(
    host,
    "systemctl list-units --all --plain --no-legend 'gaudi-pd-*'; systemctl list-unit-files --plain --no-legend 'gaudi-pd-*'",
  );
  assert.equal(units.stdout.trim(), "", `units left on ${node}`);
  // Processes in a gaudi-pd unit's cgroup, or running anything gaudi-pd starts ([v]: not this command itself).
  const look = ["bash", "-c", "grep -l gaudi-pd /proc/[0-9]*/cgroup 2>/dev/null; pgrep -af '[v]llm|[l]aunch.sh|[s]upervise.sh' || true"];
  let left = "";
  for (let t = 0; t < 20; t++) {
    left = (await hosts.exec(host, look)).stdout.trim();
    if (!left) break;
    await sleep(500);
  }
  assert.equal(left, "", `gaudi-pd processes left on ${node}`);
  assert.deepEqual(await listeners(hosts, host), [], `ports left bound on ${node}`);
  assert.deepEqual(gaudiPdFiles(node), [], `gaudi-pd files left on ${node}`);
  assert.ok(fs.readdirSync(hosts.host(host).logDir).length > 0, `the logs stay on ${node}`);
}

test("delete leaves no unit, process, port or gaudi-pd file except the logs", async () => {
  const plan = plan1();
  await deleteOn(plan, "router");
  await Promise.all(plan.nodes.map((n) => deleteOn(plan, n.name)));
  // As a destroy orders it: each node's serve command first, then its token.
  for (const n of plan.nodes) {
    const token = await hosts.ssh(hostOf(n.name), hfTokenCommands(STATE_DIR).delete);
    assert.equal(token.code, 0, show(`token delete on ${n.name}`, token));
  }
  for (const n of NODES) await assertClean(n);
  for (const n of NODES) assert.equal(fs.existsSync(hosts.host(hostOf(n)).stateDir), false, `${STATE_DIR} removed on ${n}`);
});

test("a crash-looping instance: systemd gives up and wait reports it with its journal tail; delete cleans up", async () => {
  const plan = planFor({ healthTimeoutSecs: 90, decodeEnv: { VLLM_SIM_CRASH_AT_STARTUP: "1" } });
  const t0 = Date.now();
  const r = await create(plan, "decode-0");
  console.log(`# crash loop reported by wait after ${Date.now() - t0} ms`);
  assert.notEqual(r.code, 0, show("create", r));
  assert.match(r.stderr, /FAILED: decode-0 decode instance \d .*is not running and is not being restarted/, show("create", r));
  assert.match(r.stderr, /last \d+ lines of journalctl -u gaudi-pd-decode-0@decode-\d\.service/, r.stderr);
  assert.match(r.stderr, /VLLM_SIM_CRASH_AT_STARTUP/, `the journal tail shows the stand-in's crash:\n${r.stderr}`);
  assert.match(r.stderr, /Start request repeated too quickly|Failed with result/, `the journal tail shows systemd giving up:\n${r.stderr}`);
  const states = await Promise.all(["decode-0", "decode-1"].map((k) => unitProps("decode-0", UNIT("decode-0", k))));
  assert.ok(
    states.some((p) => p.ActiveState === "failed" && Number(p.NRestarts) >= 4),
    JSON.stringify(states),
  );
  await deleteOn(plan, "decode-0");
  await assertClean("decode-0");
});
