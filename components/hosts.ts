// The machines gaudi-pd serves on, as GaudiNodes (AWS) and ExistingHosts hand them to PdServing.
import * as pulumi from "@pulumi/pulumi";
import type { types } from "@pulumi/command";
import type { NodePlan } from "./plan";

/** What a node is for: one role, or both roles of a colocated node (`pd`). */
export type NodeRole = "prefill" | "decode" | "pd";
/** What a host is for: a node's role, or the dedicated router. */
export type HostRole = NodeRole | "router";

/** An SSH connection as remote commands take it; always a secret Output, since it holds the private key. */
export type SshConnection = pulumi.Output<types.output.remote.Connection>;

/** One machine: a node of the plan or the dedicated router host. */
export interface Host {
  /** `prefill`, `decode`, `pd` (a colocated node) or `router`. */
  readonly role: HostRole;
  /** Its index within its role (the plan's node rank; 0 for the router). */
  readonly rank: number;
  /** The plan's node name (`decode-1`, `pd-0`) or `router`. */
  readonly name: string;
  /** Where the other hosts reach it: DP master, NIXL side channel, router workers. */
  readonly privateAddress: pulumi.Output<string>;
  /** Where SSH and the router's users reach it. */
  readonly publicAddress: pulumi.Output<string>;
  /** How remote commands log in to it (secret). */
  readonly connection: SshConnection;
}

/** A host as stack outputs show it: everything but the connection. */
export interface HostInfo {
  readonly role: HostRole;
  readonly rank: number;
  readonly name: string;
  readonly privateAddress: string;
  readonly publicAddress: string;
}

/** The host role of a plan node: a node running both roles is `pd`. */
export function hostRole(node: NodePlan): NodeRole {
  return node.roles.length > 1 ? "pd" : node.roles[0];
}

/** One SSH login: where, as whom, on which port. */
export interface SshTarget {
  readonly host: pulumi.Input<string>;
  readonly user: string;
  readonly port?: number;
}

/** The secret connection to `target` with `privateKey`, through `proxy` (a bastion) when given. */
export function sshConnection(target: SshTarget, privateKey: pulumi.Input<string>, proxy?: SshTarget): SshConnection {
  return pulumi.secret(
    pulumi.all([target.host, proxy?.host, privateKey]).apply(([host, proxyHost, key]) => ({
      host,
      user: target.user,
      port: target.port,
      privateKey: key,
      proxy: proxy && proxyHost !== undefined ? { host: proxyHost, user: proxy.user, port: proxy.port, privateKey: key } : undefined,
    })),
  );
}

/** The outputs view of hosts: no connection, so nothing secret. */
export function hostInfos(hosts: readonly Host[]): pulumi.Output<HostInfo[]> {
  return pulumi.all(
    hosts.map((h) =>
      pulumi
        .all([h.privateAddress, h.publicAddress])
        .apply(([privateAddress, publicAddress]) => ({ role: h.role, rank: h.rank, name: h.name, privateAddress, publicAddress })),
    ),
  );
}
