// PdServing: the plan's vLLM instances and router started on the hosts — one health-gated remote command per node and
// one for the router, all at once, each carrying its rendered script on stdin; then the verify step (render/serveSteps.ts).
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Host } from "./hosts";
import { COMPONENT_TYPES, DEDICATED_ROUTER_NODE, hfTokenName, readyName } from "./names";
import { bindAddresses, ClusterPlan } from "./plan";
import { hfTokenCommands, hfTokenEnv, READY_COMMAND } from "./render/hostCommands";
import { serveSteps } from "./render/serveSteps";
import { ConfigError, Problem, problem } from "./problems";
import { Topology } from "./topology";

export interface PdServingArgs {
  /** The cluster plan; the hosts' private addresses are bound here, so it may be the symbolic one. */
  readonly plan: ClusterPlan;
  /** A host per plan node (by node name), plus DEDICATED_ROUTER_NODE when the router is dedicated. */
  readonly hosts: readonly Host[];
  /** The Hugging Face token (a secret); given exactly when the topology has one. */
  readonly hfToken?: pulumi.Input<string>;
  /** True when a topology value came from a Pulumi secret: every script (a command's stdin) is then a secret too. */
  readonly secretTopology?: boolean;
}

/** Every prefill and decode URL the router sends to. */
export interface Endpoints {
  readonly prefill: string[];
  readonly decode: string[];
}

/** Where Prometheus scrapes the deployment, on the cluster network: the router and every instance. */
export interface MetricsUrls {
  readonly router: string;
  readonly prefill: string[];
  readonly decode: string[];
}

/** How long a readiness poll waits for a booting machine to answer SSH and finish cloud-init. */
export const READY_TIMEOUT = "30m";

/** A token given without the topology knowing (no host would read it), or the other way round. */
export function tokenProblems(topology: Topology, tokenGiven: boolean): Problem[] {
  if (topology.hasHfToken && !tokenGiven) return [problem("hfToken", "the topology has a Hugging Face token but none was passed (a secret Output)")];
  if (!topology.hasHfToken && tokenGiven) return [problem("hfToken", "a token was passed but the topology has no hfToken, so no host would read it")];
  return [];
}

/**
 * No delete reads a create's output, and passing it (PULUMI_COMMAND_STDOUT/STDERR over SSH) makes every stock sshd, which
 * accepts no such variable, warn on each replace and delete.
 */
export const QUIET_SSHD = { addPreviousOutputInEnv: false } as const;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export class PdServing extends pulumi.ComponentResource {
  /** Every prefill and decode URL the router sends to, on the nodes' private addresses. */
  readonly endpoints: pulumi.Output<Endpoints>;
  /** The router on its host's public address. */
  readonly routerUrl: pulumi.Output<string>;
  /** Every /metrics URL of the deployment, on private addresses. */
  readonly metricsUrls: pulumi.Output<MetricsUrls>;

  constructor(name: string, args: PdServingArgs, opts?: pulumi.ComponentResourceOptions) {
    const { plan } = args;
    const problems = tokenProblems(plan.topology, args.hfToken !== undefined);
    if (problems.length) throw new ConfigError(problems);
    super(COMPONENT_TYPES.pdServing, name, {}, opts);
    const { stateDir } = plan.topology;
    const byName = new Map(args.hosts.map((h) => [h.name, h]));
    const hostOf = (hostName: string): Host => {
      const h = byName.get(hostName);
      if (!h) throw new Error(`PdServing: no host named ${hostName} (hosts: ${[...byName.keys()].join(", ")})`);
      return h;
    };
    const routerHost = hostOf(plan.router.node);
    const dedicated = plan.router.node === DEDICATED_ROUTER_NODE;
    // Every address bound once, in one plan; each script is then rendered from it (linear in nodes). A setting of one role
    // still changes only that role's scripts. Preview's price: while one machine's address is unknown, so is every script.
    const hostNames = [...plan.nodes.map((n) => n.name), ...(dedicated ? [DEDICATED_ROUTER_NODE] : [])];
    const bindAll = pulumi.all(Object.fromEntries(hostNames.map((n) => [n, hostOf(n).privateAddress]))).apply((a) => bindAddresses(plan, a));
    const bound = args.secretTopology ? pulumi.secret(bindAll) : bindAll;

    const readyCommands = new Map<string, command.remote.Command>();
    // One readiness poll per host, registered when a step first needs it.
    const ready = (hostName: string): command.remote.Command => {
      const known = readyCommands.get(hostName);
      if (known) return known;
      const h = hostOf(hostName);
      const poll = new command.remote.Command(
        readyName(name, h.name),
        { connection: h.connection.apply((c) => ({ ...c, dialErrorLimit: -1 })), create: READY_COMMAND, logging: "none", ...QUIET_SSHD },
        { parent: this, customTimeouts: { create: READY_TIMEOUT } },
      );
      readyCommands.set(hostName, poll);
      return poll;
    };
    const tokenFile = args.hfToken === undefined ? undefined : pulumi.secret(pulumi.output(args.hfToken).apply(hfTokenEnv));
    const tokens = new Map(
      tokenFile === undefined
        ? []
        : plan.nodes.map((n) => {
            const h = hostOf(n.name);
            const token = new command.remote.Command(
              hfTokenName(name, n.name),
              { connection: h.connection, ...hfTokenCommands(stateDir), stdin: tokenFile, logging: "none", ...QUIET_SSHD },
              { parent: this, dependsOn: ready(n.name), additionalSecretOutputs: ["stdout", "stderr"] },
            );
            return [n.name, token] as const;
          }),
    );

    // The scripts print no secret and carry none (the token reaches a host only through its own command). A step is replaced
    // when its script changes; one that runs after others (verify) when any of their scripts changes.
    const commands = new Map<string, command.remote.Command>();
    const scripts = new Map<string, pulumi.Output<string>>();
    for (const step of serveSteps(plan, name)) {
      const script = bound.apply(step.render);
      scripts.set(step.name, script);
      const changed = step.after.length ? step.after.map((s) => scripts.get(s) as pulumi.Output<string>) : [script];
      const token = step.readsHfToken ? tokens.get(step.host) : undefined;
      const dependsOn = [
        ...step.readyHosts.map(ready),
        ...(token ? [token] : []),
        ...step.after.map((s) => commands.get(s) as command.remote.Command),
      ];
      commands.set(
        step.name,
        new command.remote.Command(
          step.name,
          {
            connection: hostOf(step.host).connection,
            create: step.commands.create,
            delete: step.commands.delete,
            stdin: script,
            triggers: changed.map((s) => s.apply(sha256)),
            logging: "stdoutAndStderr",
            ...QUIET_SSHD,
          },
          { parent: this, dependsOn, deleteBeforeReplace: true },
        ),
      );
    }

    this.endpoints = bound.apply((p) => ({ prefill: [...p.router.prefillUrls], decode: [...p.router.decodeUrls] }));
    this.routerUrl = pulumi.interpolate`http://${routerHost.publicAddress}:${plan.router.port}`;
    this.metricsUrls = bound.apply((p) => ({
      router: `http://${p.topology.router.metricsBindAddress ?? p.router.address}:${p.topology.router.metricsPort}/metrics`,
      prefill: p.router.prefillUrls.map((u) => `${u}/metrics`),
      decode: p.router.decodeUrls.map((u) => `${u}/metrics`),
    }));
    // The parsed topology (nothing secret in it) is what stack policies check the plan against.
    this.registerOutputs({ endpoints: this.endpoints, routerUrl: this.routerUrl, metricsUrls: this.metricsUrls, topology: plan.topology });
  }
}
