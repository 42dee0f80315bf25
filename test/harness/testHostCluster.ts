// A cluster laid on test hosts: plan node `prefill-0` runs on test host `gpd-prefill-0`, and the topology lists the
// test hosts under `infra.kind: hosts` in rank order, logged in as root.
import * as fs from "node:fs";
import * as path from "node:path";
import { ClusterPlan, planCluster } from "../../components/plan";
import { parseTopology } from "../../components/topology";
import { PREFIX, TestHosts } from "./testHosts";

/** The test host that runs a plan node. */
export const hostOf = (node: string) => `${PREFIX}${node}`;

/** Plan node name → the address of the test host that runs it. */
export function addressesOf(hosts: TestHosts, nodes: readonly string[]): Record<string, string> {
  return Object.fromEntries(nodes.map((n) => [n, hosts.host(hostOf(n)).address]));
}

/** `infra` listing every `prefill-<rank>`, `decode-<rank>` and the `router` of `addresses`, ranks in order. */
export function hostsInfra(addresses: Readonly<Record<string, string>>) {
  const listed = (role: "prefill" | "decode") =>
    Object.keys(addresses)
      .filter((n) => n.startsWith(`${role}-`))
      .sort((a, b) => Number(a.slice(role.length + 1)) - Number(b.slice(role.length + 1)))
      .map((n) => ({ address: addresses[n] }));
  return { kind: "hosts", sshUser: "root", prefill: listed("prefill"), decode: listed("decode"), router: { address: addresses.router } };
}

/**
 * The model test hosts serve: a local directory in the repository, which every host sees at the same path. Nodes
 * check that it exists instead of fetching from a hub (test hosts have none); the stand-in serves it offline.
 */
export const TEST_MODEL = path.join(fs.realpathSync(path.join(__dirname, "..", "..")), "test", "fixtures", "tiny-model");
export const TEST_ROUTER_PORT = 9192;

/** A cluster of `nodesPerRole` nodes per role, 2 instances each in one DP group per role, on the test hosts at `addresses`. */
export function dpClusterPlan(
  addresses: Readonly<Record<string, string>>,
  options: { nodesPerRole: number; healthTimeoutSecs: number; decodeEnv?: Record<string, string> },
): ClusterPlan {
  const role = { nodes: options.nodesPerRole, instancesPerNode: 2, dpSize: 2 * options.nodesPerRole };
  const topology = parseTopology({
    model: TEST_MODEL,
    vllmCommand: "vllm",
    healthTimeoutSecs: options.healthTimeoutSecs,
    prefill: role,
    decode: { ...role, ...(options.decodeEnv ? { env: options.decodeEnv } : {}) },
    router: { port: TEST_ROUTER_PORT },
    infra: hostsInfra(addresses),
  });
  return planCluster(topology, { addresses });
}
