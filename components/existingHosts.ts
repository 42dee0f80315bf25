// ExistingHosts: machines that already exist (Gaudi 2/3 on premises or another cloud), listed in infra.kind=hosts,
// handed over as the same hosts GaudiNodes makes; reached directly or through a bastion.
import * as pulumi from "@pulumi/pulumi";
import { Host, hostInfos, hostRole, HostRole, sshConnection, SshTarget } from "./hosts";
import { ClusterPlan, ROUTER_HOST } from "./plan";
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
  if (t.infra?.kind !== "hosts") throw new ConfigError([problem("infra.kind", `ExistingHosts needs "hosts", got ${JSON.stringify(t.infra?.kind ?? null)}`)]);
  return t.infra;
}

/** Where to log in to a listed host: its own user and port, else the infra's. */
function sshTarget(infra: HostsInfra, entry: HostEntry): SshTarget {
  return { host: entry.address, user: entry.user ?? infra.sshUser, port: entry.port ?? infra.sshPort };
}

export class ExistingHosts extends pulumi.ComponentResource {
  /** The plan's nodes in plan order, then the router host when the router is dedicated. */
  readonly hosts: Host[];

  constructor(name: string, args: ExistingHostsArgs, opts?: pulumi.ComponentResourceOptions) {
    const infra = hostsInfraOf(args.plan.topology);
    super("gaudi-pd:index:ExistingHosts", name, {}, opts);
    const proxy = infra.bastion ? sshTarget(infra, infra.bastion) : undefined;
    const host = (role: HostRole, rank: number, hostName: string, entry: HostEntry): Host => ({
      role,
      rank,
      name: hostName,
      privateAddress: pulumi.output(privateAddressOf(entry)),
      publicAddress: pulumi.output(entry.address),
      connection: sshConnection(sshTarget(infra, entry), args.sshPrivateKey, proxy),
    });
    // parseTopology has checked that every node has its listed host, and the router one when dedicated.
    const nodes = args.plan.nodes.map((node) => host(hostRole(node), node.rank, node.name, infra[hostRole(node)][node.rank]));
    const router = args.plan.router.host === ROUTER_HOST ? infra.router : undefined;
    this.hosts = router ? [...nodes, host("router", 0, ROUTER_HOST, router)] : nodes;
    this.registerOutputs({ hosts: hostInfos(this.hosts) });
  }
}
