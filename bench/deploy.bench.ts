// Deployment overhead: N test hosts (network namespaces, one instance each, router beside prefill-0), every stand-in
// taking D seconds to start. From the first node script starting to a verified router, divided by D: the serving steps
// run as the remote commands run them (render/serveSteps.ts) and node after node (as the seed's manual procedure does).
// Needs root (network namespaces, sshd); run alone: `npm run bench -- deploy`.
import * as path from "node:path";
import { bindAddresses, ClusterPlan, planCluster } from "../components/plan";
import { PROGRAM_CLUSTER } from "../components/names";
import { ServeStep, serveSteps } from "../components/render/serveSteps";
import { parseTopology } from "../components/topology";
import { TEST_MODEL } from "../test/harness/testHostCluster";
import { HOST_STATE_DIR, PREFIX, TestHosts } from "../test/harness/testHosts";

const D_SECS = 20;
const SIZES = [2, 4, 8];

function planOn(hosts: TestHosts, n: number): ClusterPlan {
  const names = [...Array.from({ length: n / 2 }, (_, r) => `prefill-${r}`), ...Array.from({ length: n / 2 }, (_, r) => `decode-${r}`)];
  const env = { VLLM_SIM_STARTUP_DELAY_MS: String(D_SECS * 1000) };
  const topology = parseTopology({
    model: TEST_MODEL,
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

/**
 * Seconds from the first node script starting to a verified router. Parallel: the serving steps exactly as PdServing
 * orders them, each as soon as the steps it runs after are done. Serial: node after node, then the router, then verify.
 */
async function deploy(hosts: TestHosts, plan: ClusterPlan, parallel: boolean): Promise<number> {
  const steps = serveSteps(plan, PROGRAM_CLUSTER);
  const run = (s: ServeStep) => must(s.name, hosts.ssh(`${PREFIX}${s.host}`, s.commands.create, { stdin: s.render(plan), timeoutMs: 300_000 }));
  const started = performance.now();
  try {
    if (parallel) {
      const done = new Map<string, Promise<void>>();
      for (const s of steps)
        done.set(
          s.name,
          Promise.all(s.after.map((a) => done.get(a))).then(() => run(s)),
        );
      await Promise.all(done.values());
    } else for (const s of steps) await run(s);
    return (performance.now() - started) / 1000;
  } finally {
    for (const s of [...steps].reverse()) await hosts.ssh(`${PREFIX}${s.host}`, s.commands.delete);
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
