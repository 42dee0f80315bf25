// The JSON shapes of docs/architecture.md#interfaces: what `launch --dry-run --json` and `plan --json` print.
import type { ClusterPlan, InstancePlan } from "../components/plan";

export function instanceJson(i: InstancePlan) {
  return {
    role: i.role,
    node: i.node,
    nodeRank: i.nodeRank,
    instance: i.instance,
    dpRank: i.dpRank,
    port: i.port,
    sideChannelPort: i.sideChannelPort,
    dpMasterAddress: i.dpMasterAddress,
    dpMasterPort: i.dpMasterPort,
    hpuModules: i.hpuModules,
    env: i.env,
    argv: i.argv,
  };
}

export function clusterJson(stack: string, plan: ClusterPlan) {
  return {
    stack,
    model: plan.topology.model,
    nodes: plan.nodes.map((n) => ({ name: n.name, roles: n.roles, rank: n.rank, address: n.address, hpuModules: n.hpuModules })),
    instances: plan.instances.map(instanceJson),
    router: { node: plan.router.node, address: plan.router.address, port: plan.router.port, argv: plan.router.argv },
  };
}
