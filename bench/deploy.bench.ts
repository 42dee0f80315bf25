// Deployment overhead: N test hosts (network namespaces, one instance each, router beside prefill-0), every stand-in
// taking D seconds to start. From the first node script starting to a verified router, divided by D: every node
// started at once (as the remote commands do) and node after node (as the seed's manual procedure does).
// Needs root (network namespaces, sshd); run alone: `npm run bench -- deploy`.
import * as path from "node:path";
import { bindAddresses, ClusterPlan, planCluster } from "../components/plan";
import { scriptCommands, verifyCommands } from "../components/render/hostCommands";
import { renderNodeScript } from "../components/render/nodeScript";
import { renderRouterScript } from "../components/render/routerScript";
import { renderVerifyScript } from "../components/render/verifyScript";
import { parseTopology } from "../components/topology";
import { HOST_STATE_DIR, PREFIX, TestHosts } from "../test/harness/testHosts";

const D_SECS = 20;
const SIZES = [2, 4, 8];

function planOn(hosts: TestHosts, n: number): ClusterPlan {
  const names = [...Array.from({ length: n / 2 }, (_, r) => `prefill-${r}`), ...Array.from({ length: n / 2 }, (_, r) => `decode-${r}`)];
  const env = { VLLM_SIM_STARTUP_DELAY_MS: String(D_SECS * 1000) };
  const topology = parseTopology({
    vllmCommand: "vllm",
    stateDir: HOST_STATE_DIR,
    healthTimeoutSecs: 120,
    prefill: { nodes: n / 2, env },
    decode: { nodes: n / 2, env },
    router: { placement: "prefill-0" },
  });
  return bindAddresses(planCluster(topology), Object.fromEntries(names.map((m) => [m, hosts.host(`${PREFIX}${m}`).address])));
}

async function must(what: string, p: Promise<{ code: number; stderr: string }>): Promise<void> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.trim().split("\n").slice(-5).join(" | ")}`);
}

/** Seconds from the first node script starting to a verified router. */
async function deploy(hosts: TestHosts, plan: ClusterPlan, parallel: boolean): Promise<number> {
  const on = (node: string) => `${PREFIX}${node}`;
  const stateDir = plan.topology.stateDir;
  const create = (node: string) =>
    must(node, hosts.ssh(on(node), scriptCommands(stateDir, node).create, { stdin: renderNodeScript(plan, node), timeoutMs: 300_000 }));
  const started = performance.now();
  try {
    if (parallel) await Promise.all(plan.nodes.map((n) => create(n.name)));
    else for (const n of plan.nodes) await create(n.name);
    await must(
      "router",
      hosts.ssh(on("prefill-0"), scriptCommands(stateDir, "router").create, { stdin: renderRouterScript(plan), timeoutMs: 300_000 }),
    );
    await must(
      "verify",
      hosts.ssh(on("prefill-0"), verifyCommands(stateDir, "gaudi-pd-verify").create, { stdin: renderVerifyScript(plan), timeoutMs: 300_000 }),
    );
    return (performance.now() - started) / 1000;
  } finally {
    await hosts.ssh(on("prefill-0"), scriptCommands(stateDir, "router").delete);
    await Promise.all(plan.nodes.map((n) => hosts.ssh(on(n.name), scriptCommands(stateDir, n.name).delete)));
  }
}

async function main(): Promise<void> {
  const names = [...Array.from({ length: 4 }, (_, r) => `prefill-${r}`), ...Array.from({ length: 4 }, (_, r) => `decode-${r}`)].map(
    (m) => `${PREFIX}${m}`,
  );
  const hosts = await TestHosts.start(names, path.resolve(__dirname, ".."));
  try {
    console.log(`deployment overhead: first node script to verified router, / D (stand-ins start in D = ${D_SECS} s; one instance per host)`);
    console.log("hosts  parallel  serial");
    for (const n of SIZES) {
      const plan = planOn(hosts, n);
      const parallel = (await deploy(hosts, plan, true)) / D_SECS;
      const serial = (await deploy(hosts, plan, false)) / D_SECS;
      console.log(`${String(n).padStart(5)}  ${parallel.toFixed(2).padStart(8)}  ${serial.toFixed(2).padStart(6)}`);
    }
  } finally {
    await hosts.teardown();
  }
}

main().catch((e: unknown) => {
  console.error(`deploy bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
