// What the benches measure: clusters of 1-512 Gaudi nodes of 8 instances each, each size in a fresh process (so its
// peak memory is its own), printed as one table with per-node cost against the smallest run.
import { spawnSync } from "node:child_process";
import { TEST_HF_TOKEN, TEST_PRIVATE_KEY, TEST_PUBLIC_KEY } from "../test/helpers/pulumiMocks";

export const SIZES = [1, 8, 32, 128, 512];
export const INSTANCES_PER_NODE = 8;

/** The `gaudi-pd:*` config of `nodes` AWS nodes: one colocated node (4 + 4), or half prefill and half decode with DP over
 *  each role. DP ranks in the thousands move side channels past the default serve ports: the channel base sits above. */
export function clusterConfig(nodes: number): Record<string, unknown> {
  const role = (n: number, perNode: number) => ({ nodes: n, instancesPerNode: perNode, dpSize: n * perNode });
  const half = INSTANCES_PER_NODE / 2;
  const roles =
    nodes === 1
      ? {
          "gaudi-pd:colocate": true,
          "gaudi-pd:prefill": role(1, half),
          "gaudi-pd:decode": role(1, half),
          "gaudi-pd:router": { placement: "dedicated" },
        }
      : { "gaudi-pd:prefill": role(nodes / 2, INSTANCES_PER_NODE), "gaudi-pd:decode": role(nodes / 2, INSTANCES_PER_NODE) };
  return {
    ...roles,
    "gaudi-pd:ports": { channelBase: 12000 },
    "gaudi-pd:infra": {
      kind: "aws",
      ami: { id: "ami-0123456789abcdef0" },
      sshCidrs: ["203.0.113.0/24"],
      routerCidrs: ["203.0.113.0/24"],
      publicKey: TEST_PUBLIC_KEY,
    },
    "gaudi-pd:hfToken": TEST_HF_TOKEN,
    "gaudi-pd:sshPrivateKey": TEST_PRIVATE_KEY,
  };
}

/** One size's measurement: wall time of the measured step, and how many things (resources, scripts) it made. */
export interface Sample {
  readonly nodes: number;
  readonly ms: number;
  readonly count: number;
  readonly peakRssMb: number;
}

/** In the child: measure one size (the fastest of `runs`, as the machine is shared) and print its sample as the last line. */
export async function measureChild(measure: (nodes: number) => Promise<{ ms: number; count: number }>, runs = 1): Promise<boolean> {
  const at = process.argv.indexOf("--size");
  if (at < 0) return false;
  const nodes = Number(process.argv[at + 1]);
  await measure(8); // warm-up: module loading and JIT, so the smallest run is not charged for them
  let best = await measure(nodes);
  for (let k = 1; k < runs; k++) {
    const next = await measure(nodes);
    if (next.ms < best.ms) best = next;
  }
  const { ms, count } = best;
  const sample: Sample = { nodes, ms, count, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  console.log(JSON.stringify(sample));
  return true;
}

/** In the parent: run `file` once per size in its own process and print the table. */
export function printTable(file: string, title: string, countName: string): void {
  const samples = SIZES.map((nodes) => {
    const r = spawnSync(process.execPath, ["--import", "tsx", file, "--size", String(nodes)], { encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`${file} --size ${nodes} failed:\n${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "") as Sample;
  });
  const base = samples[0];
  const perNode = (s: Sample) => s.ms / s.nodes;
  console.log(title);
  console.log(`| nodes | instances | time ms | ms/node | × smallest per node | ${countName} | per node | peak RSS MB |`);
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const s of samples)
    console.log(
      `| ${s.nodes} | ${s.nodes * INSTANCES_PER_NODE} | ${s.ms.toFixed(0)} | ${perNode(s).toFixed(2)} | ${(perNode(s) / perNode(base)).toFixed(2)} | ` +
        `${s.count} | ${(s.count / s.nodes).toFixed(1)} | ${s.peakRssMb.toFixed(0)} |`,
    );
}
