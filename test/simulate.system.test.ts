// `gaudi-pd simulate`: the whole topology behind the real vllm-router, and wiring broken on purpose.
import { test, after } from "node:test";
import * as assert from "node:assert/strict";
import { ClusterPlan, InstancePlan, planCluster } from "../components/plan";
import { boundOf } from "./helpers/listening";
import { parseTopology } from "../components/topology";
import { CliError } from "../cli/errors";
import { runSimulation, SimulationOptions } from "../cli/simulation";
import { DEFAULT_SIMULATION } from "../cli/simulateCommand";
import { runCli } from "./helpers/runCli";
import { portBlock } from "./helpers/ports";
import { withTempDir } from "./helpers/tempDir";

/** Every port of the 2+2 topology (decode's +1000 shifts included) lies in base .. base+6001, outside the ephemeral range. */
const base = portBlock(6002);
/** Two nodes per role so DP groups and side channels cross nodes. */
const topology = parseTopology({
  ports: { base, channelBase: base + 2000, dpMaster: base + 4000 },
  router: { port: base + 6000, metricsPort: base + 6001 },
  prefill: { nodes: 2, instancesPerNode: 2, dpSize: 4 },
  decode: { nodes: 2, instancesPerNode: 2, dpSize: 4 },
});

const quietly: Pick<SimulationOptions, "progress"> = { progress: () => undefined };

/** Rewrite the instances of one node; the rest of the plan stays as planned. */
function onNode(node: string, change: (i: InstancePlan) => InstancePlan) {
  return (plan: ClusterPlan): ClusterPlan => {
    const instances = plan.instances.map((i) => (i.node === node ? change(i) : i));
    return { ...plan, instances, nodes: plan.nodes.map((n) => ({ ...n, instances: instances.filter((i) => i.node === n.name) })) };
  };
}

/** Runs a simulation expected to fail and returns its error lines; its work directory goes with the test's. */
function failure(
  tamper: (plan: ClusterPlan) => ClusterPlan,
  progress: (line: string) => void = quietly.progress,
  planned = topology,
): Promise<string> {
  return withTempDir("gaudi-pd-simulate-test-", async (workRoot) => {
    try {
      await runSimulation({ stack: "broken", topology: planned, requests: 4, timeoutSecs: 15, tamper, progress, workRoot });
    } catch (e) {
      if (e instanceof CliError) return e.problems.join("\n");
      throw e;
    }
    assert.fail("the broken plan simulated without error");
  });
}

after(() => assert.deepEqual(boundOf(planCluster(topology)), [], "no stand-in may outlive the tests"));

test("without --stack, the seed's single-node setup serves every request through the router, and stops everything (CLI, --json)", () =>
  withTempDir("gaudi-pd-simulate-test-", (tmp) => {
    // A loaded machine can take minutes to start 8 stand-ins and the router; the test waits rather than flakes.
    const r = runCli(["simulate", "--requests", "24", "--json"], { TMPDIR: tmp }, 300_000);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.deepEqual({ requests: summary.requests, ok: summary.ok, failed: summary.failed }, { requests: 24, ok: 24, failed: 0 });
    assert.ok(summary.p50Ms > 0 && summary.p99Ms >= summary.p50Ms && summary.startupMs > 0, r.stdout);
    assert.match(r.stderr, /router ready at http:\/\/127\.0\.0\.1:9192/);
    assert.deepEqual(boundOf(planCluster(parseTopology(DEFAULT_SIMULATION))), []);
  }));

test("cross-node DP groups and side channels: every request prefilled and decoded by different instances", async () => {
  await withTempDir("gaudi-pd-simulate-test-", async (workRoot) => {
    const result = await runSimulation({ stack: "two-by-two", topology, requests: 16, timeoutSecs: 60, workRoot, ...quietly });
    assert.deepEqual(result.failures, []);
    assert.equal(result.ok, 16);
  });
});

test("decode told the wrong DP master port: simulate fails naming the instance and what it waits for", async () => {
  const nobody = String(base + 4099);
  const wrongPort = (i: InstancePlan): InstancePlan => ({
    ...i,
    argv: i.argv.map((a, k) => (i.argv[k - 1] === "--data-parallel-rpc-port" ? nobody : a)),
  });
  const progress: string[] = [];
  const message = await failure(onNode("decode-1", wrongPort), (line) => progress.push(line));
  assert.match(message, /decode-1/);
  assert.match(message, new RegExp(nobody));
  assert.ok(
    progress.some((l) => /^simulate: 4\/8 instances healthy after \d+ s$/.test(l)),
    `progress while waiting:\n${progress.join("\n")}`,
  );
});

test("a prefill node told a side-channel host it does not have: simulate fails naming that address", async () => {
  const wrongHost = (i: InstancePlan): InstancePlan => ({ ...i, env: { ...i.env, VLLM_NIXL_SIDE_CHANNEL_HOST: "192.0.2.1" } });
  const message = await failure(onNode("prefill-1", wrongHost));
  assert.match(message, /prefill-1/);
  assert.match(message, /192\.0\.2\.1/);
});

test("a stack whose nodes cannot share this machine is refused before anything starts", async () => {
  // Apart on their own machines, prefill-1's serve port is prefill-0's side channel on a shared one.
  const crowded = parseTopology({ ports: { base: 31300, channelBase: 31308 }, prefill: { nodes: 2 } });
  await assert.rejects(runSimulation({ stack: "crowded", topology: crowded, requests: 1, timeoutSecs: 5, ...quietly }), (e: CliError) =>
    e.problems.some((p) =>
      /^simulate: 127\.0\.0\.1 port 31308 is used by both prefill-0 prefill instance 0 \(NIXL side channel\) and prefill-1 prefill instance 0 \(serve\)/.test(
        p,
      ),
    ),
  );
});

test("simulate's own bad flags", () =>
  withTempDir("gaudi-pd-sim-flags-", (dir) => {
    for (const [args, expected] of [
      [["simulate", "--stacks-dir", dir], /--stacks-dir: only with --stack/],
      [["simulate", "--stack", "single-node", "--requests", "0"], /--requests: must be a whole number of at least 1, got "0"/],
      [["simulate", "--stack", "nope", "--stacks-dir", dir], /--stack: no Pulumi\.nope\.yaml/],
    ] as const) {
      const r = runCli([...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, expected);
    }
  }));

test("two instances pinned to one HPU module on a node: the second is refused, and simulate names it", async () => {
  const sameModule = (i: InstancePlan): InstancePlan => ({ ...i, env: { ...i.env, HABANA_VISIBLE_MODULES: "0" } });
  const message = await failure(onNode("decode-0", sameModule));
  assert.match(message, /decode-0/);
  assert.match(message, /module 0/i);
});

/** The seed's `--num-instances 4 --tp-size 2` as prefill, without DP: one side-channel listener per engine. */
const tpPrefill = (sideChannelLayout?: string) =>
  parseTopology({
    ports: { base, channelBase: base + 2000, dpMaster: base + 4000 },
    router: { port: base + 6000, metricsPort: base + 6001 },
    prefill: { instancesPerNode: 4, tpSize: 2, ...(sideChannelLayout ? { nixl: { sideChannelLayout } } : {}) },
    decode: { instancesPerNode: 2 },
  });

test("prefill TP 2 × 4 instances without DP (perEngine) serves every request", async () => {
  await withTempDir("gaudi-pd-simulate-test-", async (workRoot) => {
    const result = await runSimulation({ stack: "tp2-no-dp", topology: tpPrefill(), requests: 12, timeoutSecs: 60, workRoot, ...quietly });
    assert.deepEqual(result.failures, []);
    assert.equal(result.ok, 12);
  });
  assert.deepEqual(boundOf(planCluster(tpPrefill())), []);
});

test("a plan that reserves one port per engine for a build that binds one per TP worker fails in simulate", async () => {
  // The plan reserved perEngine ports; the instances are told their build binds per TP worker, so instance k's
  // worker 1 takes instance k+1's port.
  const perWorker = (i: InstancePlan): InstancePlan => ({ ...i, env: { ...i.env, GAUDI_PD_NIXL_SIDE_CHANNEL_LAYOUT: "perTpWorker" } });
  const message = await failure(onNode("prefill-0", perWorker), quietly.progress, tpPrefill());
  assert.match(message, /prefill-0/);
  const taken = [1, 2, 3].map((k) => base + 2000 + k).join("|");
  assert.match(message, new RegExp(`Address already in use \\(addr='tcp://127\\.0\\.0\\.1:(${taken})'\\)`));
  assert.deepEqual(boundOf(planCluster(tpPrefill())), []);
});
