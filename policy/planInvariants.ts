// The deployment matches its plan, and the plan keeps its invariants: every port free on its host (also
// when listed hosts share a machine), DP ranks 0..dp-1 once each, HPU pins within the node and unshared,
// and a serve command per planned node plus the router. All numbers come from plan.ts, never re-derived.
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { routerServeName, serveName } from "../components/names";
import { ClusterPlan, listenersOf, planCluster, portProblems } from "../components/plan";
import { ConfigError, formatProblem } from "../components/problems";
import { knownAddresses, ROLES, Topology } from "../components/topology";
import { missingTopology, registeredTopologies } from "./lib/topologies";
import { T } from "./lib/types";

/** The plan of a topology, or the planner's own problem lines. */
function planOrProblems(t: Topology): ClusterPlan | string[] {
  try {
    return planCluster(t);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => formatProblem(p));
    throw e;
  }
}

/** Listeners keyed by machine: listed hosts that share an address share their ports. */
function sharedHostProblems(plan: ClusterPlan): string[] {
  const addresses = knownAddresses(plan.topology);
  return portProblems(
    listenersOf(plan, (node) => addresses[node] ?? node),
    plan,
  ).map((p) => formatProblem(p));
}

function dpRankProblems(plan: ClusterPlan): string[] {
  return ROLES.flatMap((role) => {
    const size = plan.topology[role].dpSize;
    if (size <= 1) return [];
    const ranks = plan.instances
      .filter((i) => i.role === role)
      .map((i) => i.dpRank ?? -1)
      .sort((a, b) => a - b);
    const whole = ranks.length === size && ranks.every((r, k) => r === k);
    return whole ? [] : [`${role}.dpSize: DP ranks are [${ranks.join(", ")}], expected 0..${size - 1} once each`];
  });
}

function hpuProblems(plan: ClusterPlan): string[] {
  const capacity = plan.topology.hpusPerNode;
  return plan.nodes.flatMap((node) => {
    const outside = node.hpuModules.filter((m) => m < 0 || m >= capacity);
    const shared = node.hpuModules.filter((m, k) => node.hpuModules.indexOf(m) !== k);
    return [
      ...(outside.length ? [`${node.name}: HPU modules ${outside.join(", ")} are beyond the node's ${capacity} HPUs (infra.hpusPerNode)`] : []),
      ...(shared.length ? [`${node.name}: HPU modules ${[...new Set(shared)].join(", ")} are pinned to more than one instance`] : []),
    ];
  });
}

/** Serve commands the plan needs that the owner's deployment does not have. */
function missingServeCommands(plan: ClusterPlan, owner: PolicyResource, resources: readonly PolicyResource[]): string[] {
  // A PdServing's commands are its children; without parent links (or for a PdCluster) any command counts.
  const ownedBy = (r: PolicyResource) => owner.type !== T.pdServing || !r.parent || r.parent === owner;
  const present = new Set(resources.filter((r) => r.type === T.remoteCommand && ownedBy(r)).map((r) => r.name));
  // PdServing names its children after itself, and PdCluster gives its PdServing its own name.
  const wanted = [...plan.nodes.map((n) => serveName(owner.name, n.name)), routerServeName(owner.name)];
  return wanted
    .filter((name) => !present.has(name))
    .map((name) => `${name}: the plan has this host but no ${T.remoteCommand} named ${name} serves it`);
}

export const planInvariants: StackValidationPolicy = {
  name: "pd-plan-invariants",
  description:
    "The registered topology plans cleanly: no port collision per host, DP ranks 0..dp-1, HPU pins within capacity, a serve command per planned host.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const found = registeredTopologies(args.resources);
    if (!found.length) return args.notApplicable("no PdServing or PdCluster in the stack");
    for (const { owner, topology } of found) {
      if (!topology) {
        reportViolation(missingTopology(owner), owner.urn);
        continue;
      }
      const plan = planOrProblems(topology);
      const problems = Array.isArray(plan)
        ? plan
        : [...sharedHostProblems(plan), ...dpRankProblems(plan), ...hpuProblems(plan), ...missingServeCommands(plan, owner, args.resources)];
      for (const p of problems) reportViolation(`${owner.name}: ${p}`, owner.urn);
    }
  },
};
