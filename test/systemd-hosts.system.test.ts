// The host runtime's systemd mode under a real systemd (PID 1 of systemd-nspawn test hosts), reached over a stock sshd
// exactly as the remote commands reach a host: `scriptCommands(...).create` with the script on stdin, `.delete`.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { bindAddresses, ClusterPlan, planCluster } from "../components/plan";
import { scriptCommands } from "../components/render/hostCommands";
import { scriptPath } from "../components/names";
import { renderNodeScript } from "../components/render/nodeScript";
import { renderRouterScript } from "../components/render/routerScript";
import { parseTopology } from "../components/topology";
import { completionRequest, generatedText, post } from "../sim/completionClient";
import { run, RunResult } from "../cli/processes";
import { HOST_STATE_DIR, PREFIX, sleep, TestHosts } from "./harness/testHosts";

const REPO = path.resolve(__dirname, "..");
/** Plan node name → test host; addresses follow this order (198.18.0.10, .11, …). */
const NODES = ["prefill-0", "decode-0", "router"] as const;
const hostOf = (node: string) => `${PREFIX}${node}`;
const MODEL = "ibm-research/PowerMoE-3b";
const ROUTER_PORT = 9192;
const STATE_DIR = HOST_STATE_DIR;

let hosts: TestHosts;

function addresses(): Record<string, string> {
  return Object.fromEntries(NODES.map((n) => [n, hosts.host(hostOf(n)).address]));
}

function planFor(extra: { healthTimeoutSecs: number; decodeEnv?: Record<string, string> }): ClusterPlan {
  const a = addresses();
  const topology = parseTopology({
    model: MODEL,
    vllmCommand: "vllm",
    healthTimeoutSecs: extra.healthTimeoutSecs,
    prefill: { nodes: 1, instancesPerNode: 2, dpSize: 2 },
    decode: { nodes: 1, instancesPerNode: 2, dpSize: 2, ...(extra.decodeEnv ? { env: extra.decodeEnv } : {}) },
    router: { port: ROUTER_PORT },
    infra: { kind: "hosts", sshUser: "root", prefill: [{ address: a["prefill-0"] }], decode: [{ address: a["decode-0"] }], router: { address: a.router } },
  });
  return planCluster(topology, { addresses: a });
}

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

void sleep;
void deleteOn;
