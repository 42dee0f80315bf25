// The verify step on systemd test hosts, run exactly as `gaudi-pd-verify` runs it: `verifyCommands(...).create` over SSH
// on the router host with the rendered script on stdin. A healthy deployment verifies; a decode instance that answers
// without pulling KV, or a prefill node whose side-channel host is its own loopback, fails it with lines naming them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { bindAddresses, ClusterPlan, planCluster } from "../components/plan";
import { scriptCommands, verifyCommands } from "../components/render/hostCommands";
import { renderNodeScript } from "../components/render/nodeScript";
import { renderRouterScript } from "../components/render/routerScript";
import { renderVerifyScript } from "../components/render/verifyScript";
import { parseTopology } from "../components/topology";
import { RunResult } from "../cli/processes";
import { HOST_STATE_DIR, TestHosts } from "./harness/testHosts";
import { addressesOf, hostOf, hostsInfra, TEST_MODEL } from "./harness/testHostCluster";

const REPO = path.resolve(__dirname, "..");
const NODES = ["prefill-0", "decode-0", "router"] as const;
let hosts: TestHosts;

const show = (what: string, r: RunResult) => `${what} exited ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

function planFor(decodeEnv: Record<string, string> = {}): ClusterPlan {
  const a = addressesOf(hosts, NODES);
  const topology = parseTopology({
    model: TEST_MODEL,
    vllmCommand: "vllm",
    stateDir: HOST_STATE_DIR,
    healthTimeoutSecs: 60,
    decode: { env: decodeEnv },
    infra: hostsInfra(a),
  });
  return bindAddresses(planCluster(topology), a);
}

/** The prefill node's instances advertise `host` as their side channel instead of the node's address. */
function prefillSideChannelHost(plan: ClusterPlan, host: string): ClusterPlan {
  const instances = plan.instances.map((i) => (i.role === "prefill" ? { ...i, env: { ...i.env, VLLM_NIXL_SIDE_CHANNEL_HOST: host } } : i));
  return { ...plan, instances, nodes: plan.nodes.map((n) => ({ ...n, instances: instances.filter((i) => i.node === n.name) })) };
}

/** Deploy (every node, then the router) from `deployed`, run the verify step rendered from the untouched `planned`, tear down. */
async function deployAndVerify(deployed: ClusterPlan, planned: ClusterPlan): Promise<RunResult> {
  const stateDir = planned.topology.stateDir;
  const scripts = new Map<string, string>([
    ...deployed.nodes.map((n) => [n.name, renderNodeScript(deployed, n.name)] as const),
    ["router", renderRouterScript(deployed)],
  ]);
  try {
    const nodes = await Promise.all(
      deployed.nodes.map((n) =>
        hosts.ssh(hostOf(n.name), scriptCommands(stateDir, n.name).create, { stdin: scripts.get(n.name), timeoutMs: 120_000 }),
      ),
    );
    nodes.forEach((r, k) => assert.equal(r.code, 0, show(deployed.nodes[k].name, r)));
    const router = await hosts.ssh(hostOf("router"), scriptCommands(stateDir, "router").create, { stdin: scripts.get("router"), timeoutMs: 180_000 });
    assert.equal(router.code, 0, show("router", router));
    return await hosts.ssh(hostOf("router"), verifyCommands(stateDir, "gaudi-pd-verify").create, {
      stdin: renderVerifyScript(planned),
      timeoutMs: 180_000,
    });
  } finally {
    for (const node of scripts.keys()) await hosts.ssh(hostOf(node), scriptCommands(stateDir, node).delete);
  }
}

const findings = (r: RunResult) => r.stderr.split("\n").filter((l) => l.startsWith("verify: FAILED: "));

before(async () => {
  hosts = await TestHosts.start(NODES.map(hostOf), REPO, { kind: "systemd" });
});
after(async () => {
  await hosts?.teardown();
});

test("a healthy deployment verifies", { timeout: 300_000 }, async () => {
  const plan = planFor();
  const r = await deployAndVerify(plan, plan);
  assert.equal(r.code, 0, show("verify", r));
  assert.match(r.stdout, /^verify: ok: every decode instance pulled KV over NIXL for every request it decoded \(\d+ transfer\(s\), no failures\)$/m);
});

test("the decode-only fallback fails the verify step, naming the decode instance and the likely cause", { timeout: 300_000 }, async () => {
  const plan = planFor({ VLLM_SIM_SKIP_KV_PULL: "1" });
  const r = await deployAndVerify(plan, plan);
  assert.equal(r.code, 1, show("verify", r));
  assert.deepEqual(
    findings(r).map((l) => l.replace(/\d+ request/, "N request")),
    [
      "verify: FAILED: decode-0 instance 0 decoded N request(s) with no KV transfer: requests fell back to decode-only; check VLLM_NIXL_SIDE_CHANNEL_HOST and the prefill side channel",
    ],
  );
});

test("a prefill node advertising its loopback as side channel fails the verify step, naming the prefill node", { timeout: 300_000 }, async () => {
  const plan = planFor();
  const r = await deployAndVerify(prefillSideChannelHost(plan, "127.0.0.1"), plan);
  assert.equal(r.code, 1, show("verify", r));
  const lines = findings(r);
  const expected = `${plan.nodes[0].address}:${plan.instances[0].sideChannelPort}`;
  assert.ok(
    lines.includes(
      `verify: FAILED: prefill-0 instance 0 advertises its NIXL side channel as 127.0.0.1:4300, not ${expected} (its node's address): decode instances cannot pull KV from it; check VLLM_NIXL_SIDE_CHANNEL_HOST and VLLM_NIXL_SIDE_CHANNEL_PORT on prefill-0`,
    ),
    lines.join("\n"),
  );
  assert.ok(
    lines.some((l) =>
      /^verify: FAILED: decode-0 instance 0 could not decode a request prefilled by prefill-0 instance 0 \(side channel 127\.0\.0\.1:4300\): HTTP 500 .*check VLLM_NIXL_SIDE_CHANNEL_HOST on prefill-0/.test(
        l,
      ),
    ),
    lines.join("\n"),
  );
  assert.ok(
    lines.some((l) => l.startsWith("verify: FAILED: decode-0 instance 0 counted ") && l.includes("failed NIXL transfer(s)")),
    lines.join("\n"),
  );
  assert.ok(!r.stderr.includes("hf_") && !r.stdout.includes("PRIVATE KEY"), "nothing secret");
});
