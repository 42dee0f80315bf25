// Properties over thousands of random valid topologies: ranks, ports, HPU modules and determinism.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import fc from "fast-check";
import { ClusterPlan, planCluster } from "../components/plan";
import { parseTopology, ROLES } from "../components/topology";

const RUNS = 2000;

/** A role the seed's formulas can run within 8 HPUs: any TP under the per-engine layout; under perTpWorker, TP > 1 needs DP
 *  (the side-channel stride leaves no room for TP workers otherwise) and TP ≤ 2. */
const roleArb = (maxHpus: number) =>
  fc
    .record({
      nodes: fc.integer({ min: 1, max: 4 }),
      tpSize: fc.constantFrom(1, 2, 4),
      useDp: fc.boolean(),
      instances: fc.integer({ min: 1, max: 8 }),
      sideChannelLayout: fc.constantFrom("perEngine", "perTpWorker"),
    })
    .map(({ nodes, tpSize, useDp, instances, sideChannelLayout }) => {
      const instancesPerNode = Math.max(1, Math.min(instances, Math.floor(maxHpus / tpSize)));
      const dp = useDp || (tpSize > 1 && sideChannelLayout === "perTpWorker");
      return { nodes, tpSize, instancesPerNode, dpSize: dp ? instancesPerNode * nodes : 1, nixl: { sideChannelLayout } };
    })
    .filter((r) => r.nixl.sideChannelLayout === "perEngine" || r.tpSize <= 2);

const topologyArb = fc.oneof(
  fc
    .record({ prefill: roleArb(8), decode: roleArb(8), placement: fc.constantFrom("dedicated", "prefill-0", "decode-0") })
    .map(({ prefill, decode, placement }) => ({
      prefill,
      decode,
      router: { placement },
    })),
  fc
    .record({ nodes: fc.integer({ min: 1, max: 3 }), p: fc.integer({ min: 1, max: 4 }), d: fc.integer({ min: 1, max: 4 }), dp: fc.boolean() })
    .map(({ nodes, p, d, dp }) => ({
      colocate: true,
      prefill: { nodes, instancesPerNode: p, dpSize: dp ? p * nodes : 1 },
      decode: { nodes, instancesPerNode: d, dpSize: dp ? d * nodes : 1 },
      router: { placement: "pd-0" },
    })),
);

/** Host ports held by each node, counted independently of plan.ts's own collision check. */
function portsByNode(plan: ClusterPlan): Map<string, number[]> {
  const byNode = new Map<string, number[]>();
  const add = (node: string, port: number) => byNode.set(node, [...(byNode.get(node) ?? []), port]);
  for (const i of plan.instances) {
    add(i.node, i.port);
    const r = plan.topology[i.role];
    const env = Number(i.env.VLLM_NIXL_SIDE_CHANNEL_PORT);
    const dp = i.dpRank ?? 0;
    if (r.nixl.sideChannelLayout === "perEngine") add(i.node, env + dp);
    else for (let k = 0; k < r.tpSize; k++) add(i.node, env + dp * r.tpSize + k);
    if (i.dpRank === 0 && i.dpMasterPort !== null) add(i.node, i.dpMasterPort);
  }
  add(plan.router.node, plan.router.port);
  return byNode;
}

test("every random valid topology plans, and DP ranks of a role are exactly 0..dp-1", () => {
  fc.assert(
    fc.property(topologyArb, (raw) => {
      const plan = planCluster(parseTopology(raw));
      for (const role of ROLES) {
        const dp = plan.topology[role].dpSize;
        const ranks = plan.instances.filter((i) => i.role === role).map((i) => i.dpRank);
        if (dp === 1) assert.ok(ranks.every((r) => r === null));
        else
          assert.deepEqual(
            [...ranks].sort((a, b) => a! - b!),
            Array.from({ length: dp }, (_, k) => k),
          );
      }
    }),
    { numRuns: RUNS },
  );
});

test("no two listeners share a port on one host", () => {
  fc.assert(
    fc.property(topologyArb, (raw) => {
      for (const [node, ports] of portsByNode(planCluster(parseTopology(raw)))) assert.equal(new Set(ports).size, ports.length, node);
    }),
    { numRuns: RUNS },
  );
});

test("HPU modules never overlap on a node and stay within its HPUs", () => {
  fc.assert(
    fc.property(topologyArb, (raw) => {
      const plan = planCluster(parseTopology(raw));
      for (const n of plan.nodes) {
        assert.equal(new Set(n.hpuModules).size, n.hpuModules.length, n.name);
        assert.ok(n.hpuModules.every((m) => m >= 0 && m < plan.topology.hpusPerNode));
        for (const i of n.instances) assert.equal(i.env.HABANA_VISIBLE_MODULES, i.hpuModules.join(","));
      }
    }),
    { numRuns: RUNS },
  );
});

test("planning is deterministic: equal inputs give byte-identical plans", () => {
  fc.assert(
    fc.property(topologyArb, (raw) => {
      assert.equal(JSON.stringify(planCluster(parseTopology(raw))), JSON.stringify(planCluster(parseTopology(structuredClone(raw)))));
    }),
    { numRuns: RUNS },
  );
});

test("the same role on different nodes can share one host (simulation): the 8-port stride keeps them apart", () => {
  fc.assert(
    fc.property(topologyArb, (raw) => {
      const plan = planCluster(parseTopology(raw));
      const all = [...portsByNode(plan).values()].flat();
      assert.equal(new Set(all).size, all.length);
    }),
    { numRuns: RUNS },
  );
});
