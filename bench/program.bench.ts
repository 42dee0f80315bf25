// Program evaluation under mocks as the cluster grows: PdCluster on AWS with every resource recorded.
import { performance } from "node:perf_hooks";
import { runProgram } from "../test/helpers/pulumiMocks";
import { clusterConfig, measureChild, printTable } from "./cluster";

async function measure(nodes: number): Promise<{ ms: number; count: number }> {
  const start = performance.now();
  const run = await runProgram(clusterConfig(nodes), ["gaudi-pd:hfToken", "gaudi-pd:sshPrivateKey"]);
  return { ms: performance.now() - start, count: run.resources.length };
}

measureChild(measure).then((child) => {
  if (!child) printTable(__filename, "program evaluation under mocks (PdCluster on AWS, every resource recorded):", "resources");
});
