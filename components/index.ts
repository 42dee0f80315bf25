// gaudi-pd as a library: the pure layers (topology, plan, render) and the components that bind them to resources.
export { parseTopology } from "./topology";
export { ConfigError, formatProblem, Problem } from "./problems";
export type { Topology, RoleTopology, Infra, AwsInfra, HostsInfra, HostEntry, RouterSettings, Role } from "./topology";
export { planCluster } from "./plan";
export type { ClusterPlan, NodePlan, InstancePlan, RouterPlan, PlanOptions } from "./plan";
export { renderNodeScript } from "./render/nodeScript";
export { renderRouterScript } from "./render/routerScript";
export type { Host, HostInfo, HostRole, NodeRole, SshConnection } from "./hosts";
export { GaudiNodes } from "./gaudiNodes";
export type { GaudiNodesArgs } from "./gaudiNodes";
export { ExistingHosts } from "./existingHosts";
export type { ExistingHostsArgs } from "./existingHosts";
export { PdServing } from "./pdServing";
export type { PdServingArgs, Endpoints } from "./pdServing";
export { PdCluster } from "./pdCluster";
export type { PdClusterArgs } from "./pdCluster";
