// The deployment's verify step, run by `gaudi-pd simulate` as its last step: a healthy cluster verifies and counts
// its KV transfers; a decode instance that silently answers without pulling KV, or a prefill instance advertising the
// wrong side-channel host, fails it with one line naming the instance, what was seen and the likely cause.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { runSimulation, SimulationOptions } from "../cli/simulation";
import { ClusterPlan, InstancePlan, planCluster } from "../components/plan";
import { parseTopology } from "../components/topology";
import { boundOf } from "./helpers/listening";
import { withTempDir } from "./helpers/tempDir";

/** Two nodes per role, round_robin so the router's requests reach every instance; ports below the ephemeral range. */
const topology = parseTopology({
  ports: { base: 21300, channelBase: 23300, dpMaster: 25300 },
  router: { port: 27192, metricsPort: 27290, prefillPolicy: "round_robin", decodePolicy: "round_robin" },
  prefill: { nodes: 2, instancesPerNode: 1 },
  decode: { nodes: 2, instancesPerNode: 1 },
});

const quietly: Pick<SimulationOptions, "progress"> = { progress: () => undefined };

/** Simulates in a work root of its own: a failed simulation keeps its logs there, and a passing test removes it. */
const simulate = (options: Omit<SimulationOptions, "progress" | "workRoot">) =>
  withTempDir("gaudi-pd-verify-test-", (workRoot) => runSimulation({ ...options, workRoot, ...quietly }));

after(() => assert.deepEqual(boundOf(planCluster(topology)), [], "no stand-in may outlive the tests"));

/** One instance's environment changed; every other instance stays as planned. */
function withEnv(node: string, env: Record<string, string>) {
  return (plan: ClusterPlan): ClusterPlan => {
    const change = (i: InstancePlan): InstancePlan => (i.node === node ? { ...i, env: { ...i.env, ...env } } : i);
    const instances = plan.instances.map(change);
    return { ...plan, instances, nodes: plan.nodes.map((n) => ({ ...n, instances: instances.filter((i) => i.node === n.name) })) };
  };
}

/** A short simulation with one node's instances given `env` (a fault): 4 requests, 60 s to come up. */
const simulateWithEnv = (stack: string, node: string, env: Record<string, string>) =>
  simulate({ stack, topology, requests: 4, timeoutSecs: 60, tamper: withEnv(node, env) });

const verifyLines = (failures: readonly string[]) => failures.filter((f) => f.startsWith("verify: FAILED: "));

test("a healthy cluster verifies, and every request's KV transfer is counted on the decode side", { timeout: 120_000 }, async () => {
  const result = await simulate({ stack: "verify-ok", topology, requests: 12, timeoutSecs: 60 });
  assert.deepEqual(result.failures, []);
  // 12 simulated requests, 2 direct prefill→decode pairs and 4 verify requests through the router.
  assert.equal(result.kvTransfers, 12 + 2 + 4);
});

test("a decode instance answering without pulling KV fails the verify step, naming it and the likely cause", { timeout: 120_000 }, async () => {
  const result = await simulateWithEnv("verify-fallback", "decode-1", { VLLM_SIM_SKIP_KV_PULL: "1" });
  const lines = verifyLines(result.failures);
  assert.equal(lines.length, 1, result.failures.join("\n"));
  assert.match(
    lines[0],
    /^verify: FAILED: decode-1 instance 0 decoded \d+ request\(s\) with no KV transfer: requests fell back to decode-only; check VLLM_NIXL_SIDE_CHANNEL_HOST and the prefill side channel$/,
  );
  assert.equal(result.kvTransfers, 2 + 1 + 2, "decode-0 counted its own: 2 simulated, 1 pair, 2 verify requests");
});

test("a prefill instance advertising another side-channel host fails the verify step, naming the prefill node", { timeout: 120_000 }, async () => {
  const result = await simulateWithEnv("verify-host", "prefill-1", { VLLM_NIXL_SIDE_CHANNEL_HOST: "127.0.0.2" });
  const lines = verifyLines(result.failures);
  assert.deepEqual(lines, [
    "verify: FAILED: prefill-1 instance 0 advertises its NIXL side channel as 127.0.0.2:23308, not 127.0.0.1:23308 (its node's address): decode instances " +
      "cannot pull KV from it; check VLLM_NIXL_SIDE_CHANNEL_HOST and VLLM_NIXL_SIDE_CHANNEL_PORT on prefill-1",
  ]);
});
