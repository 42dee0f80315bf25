// The remote commands that serve a cluster, in the order they may run: what PdServing registers and what the deploy
// bench runs, from one list. Every node and the router start at once (vllm-router binds its port only once every worker
// answers /health, so its own wait already waits for the nodes); the verify step runs last, after all of them.
import { ROUTER_UNIT, routerServeName, serveName, verifyName } from "../names";
import { ClusterPlan } from "../plan";
import { CommandText, scriptCommands, verifyCommands } from "./hostCommands";
import { renderNodeScript } from "./nodeScript";
import { renderRouterScript } from "./routerScript";
import { renderVerifyScript } from "./verifyScript";

/** One remote command of the serving. */
export interface ServeStep {
  /** Its resource name, `${component}-<node>-serve`, `${component}-router-serve` or `${component}-verify`. */
  readonly name: string;
  /** The plan node (or DEDICATED_ROUTER_NODE) whose host runs it. */
  readonly host: string;
  readonly commands: CommandText;
  /** Its script (the command's stdin), from a plan whose addresses are bound. */
  readonly render: (bound: ClusterPlan) => string;
  /** The hosts (plan nodes, or DEDICATED_ROUTER_NODE) that must answer SSH before it starts. */
  readonly readyHosts: readonly string[];
  /** True when what it starts reads the HF token file: it then runs after its host's token command. */
  readonly readsHfToken: boolean;
  /** Names of the steps it runs after. */
  readonly after: readonly string[];
}

/** The serving steps of `plan` under component `component`: each node, the router, then (unless `verify: false`) verify. */
export function serveSteps(plan: ClusterPlan, component: string): ServeStep[] {
  const { stateDir } = plan.topology;
  const nodes: ServeStep[] = plan.nodes.map((n) => ({
    name: serveName(component, n.name),
    host: n.name,
    commands: scriptCommands(stateDir, n.name),
    render: (p) => renderNodeScript(p, n.name),
    readyHosts: [n.name],
    readsHfToken: true,
    after: [],
  }));
  const router: ServeStep = {
    name: routerServeName(component),
    host: plan.router.node,
    commands: scriptCommands(stateDir, ROUTER_UNIT),
    render: renderRouterScript,
    // Every host, not only its own: the router's wait then starts no earlier than any node's, so it covers theirs.
    readyHosts: [...new Set([...plan.nodes.map((n) => n.name), plan.router.node])],
    readsHfToken: false,
    after: [],
  };
  const serving = [...nodes, router];
  if (!plan.topology.verify.enabled) return serving;
  const verify: ServeStep = {
    name: verifyName(component),
    host: plan.router.node,
    commands: verifyCommands(stateDir, verifyName(component)),
    render: renderVerifyScript,
    readyHosts: [plan.router.node],
    readsHfToken: false,
    after: serving.map((s) => s.name),
  };
  return [...serving, verify];
}
