// The model fetch on the nodes, with the real huggingface_hub client against the stand-in hub: in a multi-node
// simulation every node downloads the model exactly once (each node fetches under its own name, so the hub counts
// them apart) and its instances start offline from that copy; a node script whose fetch was skipped starts
// instances that refuse, offline, to run without the model in their cache, and wait says so.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { ClusterPlan } from "../components/plan";
import { parseTopology, Topology } from "../components/topology";
import { CliError } from "../cli/errors";
import { planStack } from "../cli/planCommand";
import { runSimulation } from "../cli/simulation";
import { tinyModelRepo } from "../sim/hfHub";
import { portBlock } from "./helpers/ports";
import { withTempDir } from "./helpers/tempDir";

const base = portBlock(6002);
/** The ports of a topology moved into this test's block (decode's +1000 shift included), outside the ephemeral range. */
const inBlock = (t: Topology): Topology => ({
  ...t,
  ports: { base, channelBase: base + 2000, dpMaster: base + 4000 },
  router: { ...t.router, port: base + 6000, metricsPort: base + 6001 },
});
const quietly = { progress: () => undefined };

test("multi-node stack: each node fetches the model exactly once, before its instances start offline", () =>
  withTempDir("gaudi-pd-fetch-test-", async (workRoot) => {
    const topology = inBlock(planStack("multi-node").topology);
    const result = await runSimulation({ stack: "fetch", topology, requests: 8, timeoutSecs: 180, workRoot, ...quietly });
    assert.deepEqual(result.failures, []);
    assert.equal(result.ok, 8);
    const once = Object.fromEntries(Object.keys(tinyModelRepo(topology.model).files).map((f) => [`${topology.model}/${f}`, 1]));
    assert.deepEqual(result.modelFetches, { "prefill-0": once, "prefill-1": once, "decode-0": once, "decode-1": once });
  }));

test("a node whose fetch was skipped: its instances refuse to start offline, and wait names them with the reason", () =>
  withTempDir("gaudi-pd-fetch-test-", async (workRoot) => {
    const topology = inBlock(parseTopology({ prefill: { instancesPerNode: 1 }, decode: { instancesPerNode: 1 } }));
    // The node script is told the model is a local directory that exists: it checks it and fetches nothing, while
    // the instances still serve the hub model, offline.
    const skipFetch = (plan: ClusterPlan): ClusterPlan => ({ ...plan, topology: { ...plan.topology, model: workRoot } });
    let message = "";
    try {
      await runSimulation({ stack: "no-fetch", topology, requests: 1, timeoutSecs: 60, workRoot, tamper: skipFetch, ...quietly });
    } catch (e) {
      assert.ok(e instanceof CliError, String(e));
      message = e.problems.join("\n");
    }
    assert.match(message, /simulate: prefill-0: 'wait' failed/);
    assert.match(message, /FAILED: prefill-0 prefill instance 0 \(port \d+\) is not running and is not being restarted/);
    assert.match(message, /model ibm-research\/PowerMoE-3b is not in the Hugging Face cache \/.*\/prefill-0\/hf\/hub and HF_HUB_OFFLINE is set/);
    assert.match(message, /LocalEntryNotFoundError: Cannot find the requested files in the disk cache/);
  }));
