// SSH and the router are reachable only from the CIDRs the topology names (infra.sshCidrs, infra.routerCidrs):
// a rule added by hand, or a component drifting from the config, shows up here.
import { PolicyConfigSchema, StackValidationPolicy } from "@pulumi/policy";
import { configOf } from "./lib/config";
import { addressIngressOf, isOnlyTcpPort, ruleLabel } from "./lib/ingress";
import { registeredTopologies, topologyOf } from "./lib/topologies";

interface Config {
  sshPort: number;
}

const configSchema: PolicyConfigSchema = {
  properties: { sshPort: { type: "integer", default: 22, description: "The SSH port the hosts listen on" } },
};

const list = (cidrs: readonly string[]) => (cidrs.length ? cidrs.join(", ") : "none");

export const ingressFromTopology: StackValidationPolicy = {
  name: "sg-ingress-from-configured-cidrs",
  description: "Security-group ingress to SSH and the router comes only from the topology's infra.sshCidrs and infra.routerCidrs.",
  enforcementLevel: "mandatory",
  configSchema,
  validateStack: (args, reportViolation) => {
    const found = registeredTopologies(args.resources);
    if (!found.some((f) => f.topology?.infra?.kind === "aws")) return args.notApplicable("no deployment on AWS with a registered topology");
    const c = configOf<Config>(configSchema, args);
    for (const resource of args.resources) {
      const rules = addressIngressOf(resource.type, resource.props);
      const topology = rules ? topologyOf(resource, found)?.topology : undefined;
      if (!rules || topology?.infra?.kind !== "aws") continue;
      const doors = [
        { port: c.sshPort, what: "SSH", cidrs: topology.infra.sshCidrs, key: "infra.sshCidrs" },
        { port: topology.router.port, what: "the router", cidrs: topology.infra.routerCidrs, key: "infra.routerCidrs" },
      ];
      for (const r of rules) {
        const door = doors.find((d) => isOnlyTcpPort(r.ports, d.port));
        if (door && !door.cidrs.includes(r.source))
          reportViolation(
            `${ruleLabel(resource.name, r)}: admits ${door.what} (tcp ${door.port}) from ${r.source}, which ${door.key} (${list(door.cidrs)}) does not name; add it there or drop the rule`,
            resource.urn,
          );
      }
    }
  },
};
