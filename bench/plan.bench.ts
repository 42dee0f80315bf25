// Plan + render as the cluster grows: parse, plan, bind every address once, render every node's script and the router's
// (fastest of three runs per size).
import { performance } from "node:perf_hooks";
import { DEDICATED_ROUTER_NODE } from "../components/names";
import { bindAddresses, planCluster } from "../components/plan";
import { renderNodeScript } from "../components/render/nodeScript";
import { renderRouterScript } from "../components/render/routerScript";
import { parseTopology } from "../components/topology";
import { clusterConfig, measureChild, printTable } from "./cluster";

function topologyOf(nodes: number) {
  const config = clusterConfig(nodes);
  const raw = Object.fromEntries(
    Object.entries(config)
      .filter(([k]) => !k.endsWith("hfToken") && !k.endsWith("sshPrivateKey"))
      .map(([k, v]) => [k.replace(/^gaudi-pd:/, ""), v]),
  );
  return parseTopology(raw);
}

async function measure(nodes: number): Promise<{ ms: number; count: number }> {
  const start = performance.now();
  const plan = planCluster(topologyOf(nodes));
  const names = [...plan.nodes.map((n) => n.name), DEDICATED_ROUTER_NODE];
  const bound = bindAddresses(plan, Object.fromEntries(names.map((n, k) => [n, `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`])));
  const scripts = [...bound.nodes.map((n) => renderNodeScript(bound, n.name)), renderRouterScript(bound)];
  return { ms: performance.now() - start, count: scripts.length };
}

measureChild(measure, 3).then((child) => {
  if (!child) printTable(__filename, "plan + render (parse, plan, bind addresses once, render every script):", "scripts");
});
