// A `hosts` topology deployed over real SSH to test hosts, exactly as the Pulumi component runs it:
// the node and router scripts on stdin of `scriptCommands(...).create`, all started at once, torn down by `.delete`.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { bindAddresses, ClusterPlan, InstancePlan } from "../components/plan";
import { scriptPath } from "../components/names";
import { scriptCommands } from "../components/render/hostCommands";
import { renderNodeScript } from "../components/render/nodeScript";
import { renderRouterScript } from "../components/render/routerScript";
import { STAND_IN } from "../sim/standIn";
import { completionRequest, type Endpoint, generatedText, post, type ServedBy, servedByReports } from "../sim/completionClient";
import { RunResult } from "../cli/processes";
import { HOST_STATE_DIR, sleep, TestHosts } from "./harness/testHosts";
import { addressesOf, dpClusterPlan, hostOf, TEST_MODEL, TEST_ROUTER_PORT } from "./harness/testHostCluster";
import { assertHostsClean, Baseline, listenerPid, listeners, strangers, takeBaseline } from "./harness/hostState";

const REPO = path.resolve(__dirname, "..");
/** Plan node name → test host; addresses follow this order (198.18.0.10, .11, …). */
const NODES = ["prefill-0", "prefill-1", "decode-0", "decode-1", "router"] as const;
const MODEL = TEST_MODEL;
const ROUTER_PORT = TEST_ROUTER_PORT;

let hosts: TestHosts;
let baseline: Baseline;

const addresses = () => addressesOf(hosts, NODES);

const planFor = (extra: { healthTimeoutSecs: number; decodeEnv?: Record<string, string> }): ClusterPlan =>
  dpClusterPlan(addresses(), { nodesPerRole: 2, ...extra });

/** One node's create, as remote.Command runs it: the script on stdin, bounded a little past the script's own timeout. */
function create(plan: ClusterPlan, node: string, script: string): Promise<RunResult> {
  return hosts.ssh(hostOf(node), scriptCommands(plan.topology.stateDir, node).create, {
    stdin: script,
    timeoutMs: (plan.topology.healthTimeoutSecs + 60) * 1000,
  });
}

async function deleteEverywhere(plan: ClusterPlan): Promise<void> {
  const results = await Promise.all(NODES.map((n) => hosts.ssh(hostOf(n), scriptCommands(plan.topology.stateDir, n).delete)));
  results.forEach((r, k) => assert.equal(r.code, 0, `delete on ${NODES[k]}:\n${r.stdout}${r.stderr}`));
}

const show = (what: string, r: RunResult) => `${what} exited ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

/** The plan instance serving `address:port`. */
function instanceAt(plan: ClusterPlan, address: string, port: number): InstancePlan | undefined {
  return plan.instances.find((i) => plan.nodes.find((n) => n.name === i.node)?.address === address && i.port === port);
}

before(async () => {
  const missing = [
    [STAND_IN, "the vLLM stand-in"],
    [path.join(REPO, ".venv-router", "bin", "vllm-router"), "vllm-router (run scripts/install-router.sh)"],
  ].filter(([f]) => !fs.existsSync(f));
  if (missing.length) throw new Error(`e2e-hosts needs ${missing.map(([f, what]) => `${what} at ${f}`).join(" and ")}`);
  hosts = await TestHosts.start(NODES.map(hostOf), REPO);
  baseline = await takeBaseline(hosts);
});

after(async () => {
  await hosts?.teardown();
});

const plan1 = () => planFor({ healthTimeoutSecs: 60 });

test("every node and the router come up over SSH with install start wait, all at once as the serve commands start", async () => {
  const plan = plan1();
  const nodes = plan.nodes.map((n) => n.name);
  assert.deepEqual(nodes, ["prefill-0", "prefill-1", "decode-0", "decode-1"]);
  const t0 = Date.now();
  const bound = bindAddresses(plan, addresses());
  // The router starts before any worker answers: vllm-router waits for them, and its wait for its /readiness covers theirs.
  const results = await Promise.all([
    ...nodes.map((n) => create(plan, n, renderNodeScript(bound, n))),
    create(plan, "router", renderRouterScript(bound)),
  ]);
  results.forEach((r, k) => assert.equal(r.code, 0, show(`create on ${nodes[k] ?? "router"}`, r)));
  console.log(`# nodes and router ready in ${Date.now() - t0} ms`);
  for (const node of plan.nodes) {
    const host = hostOf(node.name);
    assert.ok(fs.existsSync(path.join(hosts.host(host).stateDir, `${node.name}.sh`)), `${scriptPath(HOST_STATE_DIR, node.name)} kept on ${host}`);
    // Each instance listens on its own host, at its planned port (and the checks delete relies on see it).
    const bound = await listeners(hosts, host);
    for (const i of node.instances)
      assert.ok(
        bound.some((l) => l.includes(`:${i.port} `)),
        `${host} does not listen on ${i.port}:\n${bound.join("\n")}`,
      );
    assert.ok((await strangers(hosts, baseline, host)).length >= node.instances.length, `${host} runs no instance processes`);
  }
});

/** Send one request through the router; it must succeed with text, and say which instances served it. */
async function request(plan: ClusterPlan, kind: Endpoint, stream: boolean, k: number): Promise<ServedBy> {
  const { path, body } = completionRequest(kind, MODEL, `request ${k}: the quick brown fox`, stream);
  const what = `${kind} stream=${stream} #${k}`;
  const r = await post(`http://${plan.router.address}:${ROUTER_PORT}${path}`, body, 30_000);
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.text}`);
  if (stream) assert.ok(r.done, `${what}: stream ended without data: [DONE]:\n${r.text.slice(0, 2000)}`);
  assert.notEqual(generatedText(r), "", `${what} generated no text: ${r.text}`);
  const served = servedByReports(r);
  assert.equal(served.length, 1, `${what}: exactly one served_by expected in ${r.text}`);
  return served[0];
}

/** Every request kind the router serves: completions and chat, each streamed and not. */
const KINDS = [
  ["completions", false],
  ["completions", true],
  ["chat", false],
  ["chat", true],
] as const;

test("requests through the router: completions and chat, streamed and not, each prefilled and decoded by the right roles", async () => {
  const plan = plan1();
  const seen = { prefill: new Set<string>(), decode: new Set<string>() };
  for (let batch = 0; batch < 5; batch++) {
    const served = await Promise.all(KINDS.map(([kind, stream], j) => request(plan, kind, stream, batch * KINDS.length + j)));
    for (const s of served) {
      for (const role of ["prefill", "decode"] as const) {
        const by = s[role];
        assert.ok(by, `no ${role} instance named in ${JSON.stringify(s)}`);
        const where = `${by.host}:${by.port}`;
        const i = instanceAt(plan, by.host, by.port);
        assert.ok(i, `${role} ${where} is no instance of the plan`);
        assert.equal(i.role, role, `${where} served as ${role} but the plan has a ${i.role} instance there`);
        assert.equal(by.role, role, `${where} calls itself ${by.role}`);
        seen[role].add(where);
      }
    }
  }
  console.log(`# prefill instances used: ${[...seen.prefill].join(" ")}; decode: ${[...seen.decode].join(" ")}`);
});

test("an instance killed with SIGKILL is restarted by its supervisor, its DP group re-forms and serves again", async () => {
  const plan = plan1();
  const victim = plan.instances.find((i) => i.node === "prefill-1" && i.instance === 1)!;
  const host = hostOf(victim.node);
  const killed = await listenerPid(hosts, host, victim.port);
  assert.ok(killed, `nothing listens on ${hosts.host(host).address}:${victim.port}`);
  process.kill(killed, "SIGKILL");
  const t0 = Date.now();
  // The stand-in's DP group breaks with one rank gone, so every prefill instance restarts; all must come back.
  const prefillNodes = plan.nodes.filter((n) => n.roles.includes("prefill")).map((n) => n.name);
  let statuses: RunResult[] = [];
  let restarted: number | null = null;
  while (Date.now() - t0 < 30_000) {
    await sleep(500);
    restarted = await listenerPid(hosts, host, victim.port);
    if (!restarted || restarted === killed) continue;
    statuses = await Promise.all(prefillNodes.map((n) => hosts.ssh(hostOf(n), `bash ${scriptPath(plan.topology.stateDir, n)} status`)));
    if (statuses.every((r) => r.code === 0)) break;
  }
  assert.ok(restarted && restarted !== killed, `${victim.node} instance ${victim.instance} (pid ${killed}) was not restarted within 30 s`);
  statuses.forEach((r, k) => assert.equal(r.code, 0, show(`status on ${prefillNodes[k]} 30 s after the kill`, r)));
  console.log(`# ${victim.node} instance ${victim.instance} killed; every prefill instance healthy again after ${Date.now() - t0} ms`);
  await Promise.all(KINDS.map(([kind, stream], k) => request(plan, kind, stream, 100 + k)));
});

test("delete on every host leaves no process, no bound port and no gaudi-pd file but the logs", async () => {
  await deleteEverywhere(plan1());
  await assertHostsClean(hosts, baseline);
  // The state directory is the harness's mount point here, so it stays, empty: scripts, env files, launchers gone.
  for (const n of NODES) assert.deepEqual(fs.readdirSync(hosts.host(hostOf(n)).stateDir), [], `${HOST_STATE_DIR} on ${n}`);
  for (const n of NODES) assert.ok(fs.readdirSync(hosts.host(hostOf(n)).logDir).length > 0, `logs kept on ${n}`);
});

test("an instance that crashes at startup makes wait fail, naming it and showing its log tail", async () => {
  const victim = plan1().instances.find((i) => i.node === "decode-1" && i.instance === 1)!;
  const plan = planFor({ healthTimeoutSecs: 15, decodeEnv: { VLLM_SIM_CRASH_AT_STARTUP: String(victim.port) } });
  const decodeNodes = ["decode-0", "decode-1"];
  const t0 = Date.now();
  const bound = bindAddresses(plan, addresses());
  const results = await Promise.all(decodeNodes.map((n) => create(plan, n, renderNodeScript(bound, n))));
  console.log(`# crashing decode group: wait failed after ${Date.now() - t0} ms`);
  const [groupMate, victimNode] = results;
  assert.notEqual(groupMate.code, 0, `decode-0 cannot be healthy without DP rank ${victim.dpRank}: ${show("create on decode-0", groupMate)}`);
  assert.match(
    groupMate.stderr,
    new RegExp(`missing ranks ${victim.dpRank}\\b`),
    `decode-0's log tail points at the missing rank:\n${groupMate.stderr}`,
  );
  assert.notEqual(victimNode.code, 0, show("create on decode-1", victimNode));
  assert.match(victimNode.stderr, new RegExp(`FAILED: .*decode.* instance 1 .*port ${victim.port}`), show("create on decode-1", victimNode));
  assert.match(victimNode.stderr, /VLLM_SIM_CRASH_AT_STARTUP/, `the log tail shows the stand-in's crash:\n${victimNode.stderr}`);
  await deleteEverywhere(plan);
  await assertHostsClean(hosts, baseline);
});
