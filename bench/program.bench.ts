// Program evaluation under mocks as the cluster grows: 1, 8, 32 and 128 Gaudi nodes of 8 instances each
// (half prefill, half decode; one node runs both), with the time and resources per node against the 1-node case.
// One run each on a noisy machine: read the ratios, not the milliseconds.
import { performance } from "node:perf_hooks";
import { runProgram, TEST_HF_TOKEN, TEST_PRIVATE_KEY, TEST_PUBLIC_KEY } from "../test/helpers/pulumiMocks";

const SIZES = [1, 8, 32, 128];

/** Stack config for `nodes` Gaudi nodes on AWS, a dedicated router in front. */
function config(nodes: number): Record<string, unknown> {
  const role = (n: number, perNode: number) => ({ nodes: n, instancesPerNode: perNode, dpSize: n * perNode });
  const roles =
    nodes === 1
      ? { "gaudi-pd:colocate": true, "gaudi-pd:prefill": role(1, 4), "gaudi-pd:decode": role(1, 4) }
      : { "gaudi-pd:prefill": role(nodes / 2, 8), "gaudi-pd:decode": role(nodes / 2, 8) };
  return {
    ...roles,
    "gaudi-pd:infra": { kind: "aws", ami: { id: "ami-0123456789abcdef0" }, sshCidrs: ["203.0.113.0/24"], routerCidrs: ["203.0.113.0/24"], publicKey: TEST_PUBLIC_KEY },
    "gaudi-pd:hfToken": TEST_HF_TOKEN,
    "gaudi-pd:sshPrivateKey": TEST_PRIVATE_KEY,
  };
}

async function measure(nodes: number): Promise<{ ms: number; resources: number }> {
  const start = performance.now();
  const run = await runProgram(config(nodes), ["gaudi-pd:hfToken", "gaudi-pd:sshPrivateKey"]);
  return { ms: performance.now() - start, resources: run.resources.length };
}

async function main(): Promise<void> {
  await measure(1); // warm-up: module loading and JIT
  const rows: { nodes: number; ms: number; resources: number }[] = [];
  for (const nodes of SIZES) rows.push({ nodes, ...(await measure(nodes)) });
  const [base] = rows;
  const perNode = (r: { resources: number; nodes: number }, fixed: number) => (r.resources - fixed) / r.nodes;
  // Resources that do not grow with nodes: the difference between the two largest runs leaves only per-node ones.
  const [a, b] = rows.slice(-2);
  const each = (b.resources - a.resources) / (b.nodes - a.nodes);
  const fixed = b.resources - each * b.nodes;
  console.log(`program under mocks: 8 instances per node; ${each} resources per node + ${fixed} fixed (stack, components, AWS shared, router)`);
  console.log("nodes  instances  resources  per node    time ms  × 1-node  ms/node  × 1-node");
  for (const r of rows) {
    const msPerNode = r.ms / r.nodes;
    console.log(
      [
        String(r.nodes).padStart(5),
        String(r.nodes * 8).padStart(10),
        String(r.resources).padStart(10),
        perNode(r, fixed).toFixed(1).padStart(9),
        r.ms.toFixed(0).padStart(10),
        (r.ms / base.ms).toFixed(1).padStart(9),
        msPerNode.toFixed(1).padStart(8),
        (msPerNode / (base.ms / base.nodes)).toFixed(2).padStart(9),
      ].join("  "),
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
