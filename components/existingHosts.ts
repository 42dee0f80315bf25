// ExistingHosts: machines that already exist (Gaudi 2/3 on premises or another cloud), listed in infra.kind=hosts,
// handed over as the same hosts GaudiNodes makes; reached directly or through a bastion.
import * as pulumi from "@pulumi/pulumi";
import { Host, hostInfos, hostRole, HostRole, sshConnection, SshTarget } from "./hosts";
import { COMPONENT_TYPES, DEDICATED_ROUTER_NODE } from "./names";
import { ClusterPlan } from "./plan";
import { ConfigError, problem } from "./problems";
import { HostEntry, HostsInfra, privateAddressOf, Topology } from "./topology";

export interface ExistingHostsArgs {
  /** The cluster plan; its infra must be `kind: hosts`, one listed host per plan node (and a router when dedicated). */
  readonly plan: ClusterPlan;
  /** The SSH private key that opens every host and the bastion (a secret); it only ever enters the connections. */
  readonly sshPrivateKey: pulumi.Input<string>;
}

/** The hosts infra of a topology meant for existing hosts; anything else is a caller's mistake. */
function hostsInfraOf(t: Topology): HostsInfra {
  if (t.infra?.kind !== "hosts")
    throw new ConfigError([problem("infra.kind", `ExistingHosts needs "hosts", got ${JSON.stringify(t.infra?.kind ?? null)}`)]);
  return t.infra;
}

/** Where to log in to a listed host: its own user and port, else the infra's. */
export function sshTarget(infra: HostsInfra, entry: HostEntry): SshTarget & { readonly host: string } {
  return { host: entry.address, user: entry.user ?? infra.sshUser, port: entry.port ?? infra.sshPort };
}

/** A machine of the plan and its entry in infra: every node, then the dedicated router host when there is one. */
export interface ListedHost {
  readonly role: HostRole;
  readonly rank: number;
  readonly node: string;
  readonly entry: HostEntry;
}

/** The listed host of every plan node (parseTopology has checked each has one), and of the dedicated router. */
export function listedHosts(plan: ClusterPlan, infra: HostsInfra): ListedHost[] {
  const nodes = plan.nodes.map((node) => ({ role: hostRole(node), rank: node.rank, node: node.name, entry: infra[hostRole(node)][node.rank] }));
  const router = plan.router.node === DEDICATED_ROUTER_NODE ? infra.router : undefined;
  return router ? [...nodes, { role: "router", rank: 0, node: DEDICATED_ROUTER_NODE, entry: router }] : nodes;
}

export class ExistingHosts extends pulumi.ComponentResource {
  /** The plan's nodes in plan order, then the router host when the router is dedicated. */
  readonly hosts: Host[];

  constructor(name: string, args: ExistingHostsArgs, opts?: pulumi.ComponentResourceOptions) {
    const infra = hostsInfraOf(args.plan.topology);
    super(COMPONENT_TYPES.existingHosts, name, {}, opts);
    const proxy = infra.bastion ? sshTarget(infra, infra.bastion) : undefined;
    this.hosts = listedHosts(args.plan, infra).map(({ role, rank, node, entry }) => ({
      role,
      rank,
      name: node,
      privateAddress: pulumi.output(privateAddressOf(entry)),
      publicAddress: pulumi.output(entry.address),
      connection: sshConnection(sshTarget(infra, entry), args.sshPrivateKey, proxy),
    }));
    this.registerOutputs({ hosts: hostInfos(this.hosts) });
  }
}
