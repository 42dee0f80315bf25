// PdCluster: the one thing the program builds — topology checked and planned before anything is registered,
// then the machines (AWS or existing hosts) and the serving on them.
import * as pulumi from "@pulumi/pulumi";
import { ExistingHosts } from "./existingHosts";
import { unsupportedGeneration } from "./gaudiMachines";
import { GaudiNodes } from "./gaudiNodes";
import { HostInfo, hostInfos } from "./hosts";
import { COMPONENT_TYPES } from "./names";
import { ClusterPlan, planCluster } from "./plan";
import { Endpoints, MetricsUrls, PdServing, tokenProblems } from "./pdServing";
import { ConfigError, Problem, problem } from "./problems";
import { deployProblems, parseTopology, Topology } from "./topology";

export interface PdClusterArgs {
  /** The topology: raw config (the `gaudi-pd:` keys without their prefix), or what parseTopology returned. */
  readonly topology: Topology | Readonly<Record<string, unknown>>;
  /** The Hugging Face token (a secret); given exactly when the topology has `hfToken`. */
  readonly hfToken?: pulumi.Input<string>;
  /** The SSH private key that opens every host (a secret); required, reported with the topology's problems when missing. */
  readonly sshPrivateKey?: pulumi.Input<string>;
  /** True when a topology value is a Pulumi secret (an `env` value, say): every command input it reaches stays a secret. */
  readonly secretTopology?: boolean;
}

/** A parsed topology, told from raw config by fields the raw schema refuses. */
function isTopology(t: PdClusterArgs["topology"]): t is Topology {
  return typeof t.hasHfToken === "boolean" && typeof (t as Topology).prefill?.role === "string";
}

/** The plan of a deployable cluster, or a ConfigError naming every problem at once. */
export function deployablePlan(args: PdClusterArgs): ClusterPlan {
  const problems: Problem[] = [];
  let plan: ClusterPlan | undefined;
  try {
    const topology = isTopology(args.topology) ? args.topology : parseTopology(args.topology);
    plan = planCluster(topology);
    if (!topology.infra) problems.push(problem("infra", "required to deploy: {kind: aws, …} or {kind: hosts, …}"));
    problems.push(...deployProblems(topology), ...tokenProblems(topology, args.hfToken !== undefined));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
  }
  if (args.sshPrivateKey === undefined)
    problems.push(problem("sshPrivateKey", "required to reach the hosts (pulumi config set --secret gaudi-pd:sshPrivateKey < ~/.ssh/id_ed25519)"));
  if (problems.length || !plan) throw new ConfigError(problems);
  return plan;
}

export class PdCluster extends pulumi.ComponentResource {
  /** The plan everything was built from (addresses symbolic). */
  readonly plan: ClusterPlan;
  /** Where clients send requests: the router on its public address. */
  readonly routerUrl: pulumi.Output<string>;
  /** The Gaudi nodes: role, rank, name, private and public address. */
  readonly nodes: pulumi.Output<HostInfo[]>;
  /** Every prefill and decode URL behind the router. */
  readonly endpoints: pulumi.Output<Endpoints>;
  /** Every /metrics URL: the router's Prometheus endpoint and each instance's. */
  readonly metricsUrls: pulumi.Output<MetricsUrls>;

  constructor(name: string, args: PdClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    // Before super(): a bad topology must not register even this component.
    const plan = deployablePlan(args);
    super(COMPONENT_TYPES.pdCluster, name, {}, opts);
    // Preview is the last moment before machines are paid for: say it there, not when vLLM fails on them.
    const infra = plan.topology.infra;
    const unsupported = infra?.kind === "aws" ? unsupportedGeneration(infra.instanceType) : null;
    if (unsupported) pulumi.log.warn(`${name}: the serving nodes' instance type ${unsupported}`, this);
    const sshPrivateKey = pulumi.secret(args.sshPrivateKey as pulumi.Input<string>);
    const machines =
      plan.topology.infra?.kind === "hosts"
        ? new ExistingHosts(name, { plan, sshPrivateKey }, { parent: this })
        : new GaudiNodes(name, { plan, sshPrivateKey }, { parent: this });
    const serving = new PdServing(
      name,
      {
        plan,
        hosts: machines.hosts,
        hfToken: args.hfToken === undefined ? undefined : pulumi.secret(args.hfToken),
        secretTopology: args.secretTopology,
      },
      { parent: this },
    );

    this.plan = plan;
    this.routerUrl = serving.routerUrl;
    this.nodes = hostInfos(machines.hosts.filter((h) => h.role !== "router"));
    this.endpoints = serving.endpoints;
    this.metricsUrls = serving.metricsUrls;
    this.registerOutputs({ routerUrl: this.routerUrl, nodes: this.nodes, endpoints: this.endpoints, metricsUrls: this.metricsUrls });
  }
}
