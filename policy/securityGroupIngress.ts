// From outside the cluster only SSH and the router are reachable; serve, NIXL side-channel and DP-master
// ports stay behind the group's self rule. Without the topology the rule is "nothing but those two ports".
import { PolicyConfigSchema, ResourceValidationPolicy } from "@pulumi/policy";
import { configOf } from "./lib/config";
import { addressIngressOf, describeSpan, isOnlyTcpPort, isOpenToWorld, ruleLabel } from "./lib/ingress";

interface Config {
  sshPort: number;
  routerPort: number;
  allowPublicSsh: boolean;
  allowPublicRouter: boolean;
}

const configSchema: PolicyConfigSchema = {
  properties: {
    sshPort: { type: "integer", default: 22, description: "The SSH port the hosts listen on" },
    routerPort: { type: "integer", default: 9192, description: "The router port (gaudi-pd:router.port)" },
    allowPublicSsh: { type: "boolean", default: false, description: "Allow SSH from 0.0.0.0/0 or ::/0" },
    allowPublicRouter: { type: "boolean", default: false, description: "Allow the router port from 0.0.0.0/0 or ::/0" },
  },
};

export const securityGroupIngress: ResourceValidationPolicy = {
  name: "sg-ingress-ssh-and-router-only",
  description: "Security-group ingress from addresses reaches only SSH and the router port, and not from the whole internet unless allowed.",
  enforcementLevel: "mandatory",
  configSchema,
  validateResource: (args, reportViolation) => {
    const rules = addressIngressOf(args.type, args.props);
    if (rules === null) return args.notApplicable("not a security group or ingress rule");
    const c = configOf<Config>(configSchema, args);
    const open = [
      { port: c.sshPort, what: "SSH", allowPublic: c.allowPublicSsh, flag: "allowPublicSsh", narrow: "infra.sshCidrs" },
      { port: c.routerPort, what: "the router", allowPublic: c.allowPublicRouter, flag: "allowPublicRouter", narrow: "infra.routerCidrs" },
    ];
    for (const r of rules.filter((x) => x.ports !== null)) {
      const at = ruleLabel(args.name, r);
      const allowed = open.find((o) => isOnlyTcpPort(r.ports, o.port));
      if (!allowed)
        reportViolation(
          `${at}: admits ${r.source} on ${describeSpan(r.ports)}; only SSH (tcp ${c.sshPort}) and the router (tcp ${c.routerPort}) may be reached from outside the cluster — drop the rule (cluster traffic rides the group's self rule)`,
        );
      else if (isOpenToWorld(r.source) && !allowed.allowPublic)
        reportViolation(
          `${at}: opens ${allowed.what} (tcp ${allowed.port}) to ${r.source}; limit it to ${allowed.narrow}, or set ${allowed.flag}: true in this policy's config`,
        );
    }
  },
};
