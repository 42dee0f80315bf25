// On AWS the fabric between nodes is EFA, reached through libfabric (SRD), not RC verbs: UCX told to use
// rc or ib finds no such device there, and NIXL falls back to whatever is left (or fails).
import { StackValidationPolicy } from "@pulumi/policy";
import { ucxTlsOf } from "../components/plan";
import { ROLES } from "../components/topology";
import { registeredTopologies } from "./lib/topologies";

/** UCX transports that need InfiniBand RC verbs (`rc`, `rc_verbs`, `rc_x`, `ib`, …). */
const isVerbsTransport = (tls: string) => /^(rc|ib)(_|$)/.test(tls);

export const nixlTransportOnEfa: StackValidationPolicy = {
  name: "nixl-ucx-transports-on-efa",
  description: "Advisory: on AWS (EFA), NIXL over UCX with rc/ib transports does not ride the fabric; use the LIBFABRIC backend or drop rc/ib.",
  enforcementLevel: "advisory",
  validateStack: (args, reportViolation) => {
    const onAws = registeredTopologies(args.resources).flatMap(({ owner, topology }) =>
      topology?.infra?.kind === "aws" ? [{ owner, topology }] : [],
    );
    if (!onAws.length) return args.notApplicable("no deployment on AWS with a registered topology");
    for (const { owner, topology } of onAws) {
      // Roles with the same transports get one message.
      const byTls = new Map<string, string[]>();
      for (const role of ROLES) {
        const r = topology[role];
        const verbs = ucxTlsOf(r).split(",").filter(isVerbsTransport);
        if (r.nixl.backend === "UCX" && verbs.length) byTls.set(r.nixl.ucxTls, [...(byTls.get(r.nixl.ucxTls) ?? []), role]);
      }
      for (const [tls, roles] of byTls)
        reportViolation(
          `${owner.name}: ${roles.join(" and ")} nixl.ucxTls "${tls}" asks for rc/ib verbs, which EFA does not carry (it speaks libfabric/SRD); set nixl.backend: LIBFABRIC, or nixl.ucxTls without rc and ib`,
          owner.urn,
        );
    }
  },
};
