// The topology a gaudi-pd deployment was planned from, as its components register it: PdServing's
// `topology` output (PdCluster's when the stack has no PdServing) holds the parsed Topology.
import { PolicyResource } from "@pulumi/policy";
import type { Topology } from "../../components/topology";
import { read, UNKNOWN } from "./props";
import { T } from "./types";

export interface RegisteredTopology {
  /** The component that registered it. */
  readonly owner: PolicyResource;
  /** The parsed topology, or undefined when the component registered none. */
  readonly topology: Topology | undefined;
}

/** Each deployment's topology; a value not yet known (preview) is left out, to be checked by the update. */
export function registeredTopologies(resources: readonly PolicyResource[]): RegisteredTopology[] {
  const serving = resources.filter((r) => r.type === T.pdServing);
  const owners = serving.length ? serving : resources.filter((r) => r.type === T.pdCluster);
  return owners.flatMap((owner) => {
    // A plain copy: the planner walks the whole object, and nothing in it may be an unknown-checking proxy.
    const topology = read(() => (owner.props.topology === undefined ? undefined : (JSON.parse(JSON.stringify(owner.props.topology)) as Topology)));
    return topology === UNKNOWN ? [] : [{ owner, topology }];
  });
}

/** The outermost gaudi-pd component above a resource (its PdCluster), or the resource itself. */
function deploymentRoot(r: PolicyResource): PolicyResource {
  let root = r;
  for (let p = r.parent; p; p = p.parent) if (p.type.startsWith("gaudi-pd:")) root = p;
  return root;
}

/** The registered topology a resource was deployed under: the one in its PdCluster, or the only one in the stack. */
export function topologyOf(r: PolicyResource, found: readonly RegisteredTopology[]): RegisteredTopology | undefined {
  if (found.length === 1) return found[0];
  const root = deploymentRoot(r);
  return found.find((f) => deploymentRoot(f.owner) === root);
}

/** The message for a component that does not register its topology (the contract the stack policies rely on). */
export function missingTopology(owner: PolicyResource): string {
  return `${owner.name}: ${owner.type} registers no topology output; register the parsed topology (registerOutputs({ topology: plan.topology, … })) so the plan can be checked`;
}
