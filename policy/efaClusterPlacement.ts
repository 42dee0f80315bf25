// Prefill and decode on different machines move the KV cache over EFA: more than one serving node needs a
// cluster placement group holding all of them, and EFA interfaces on each.
import { PolicyConfigSchema, PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { configOf } from "./lib/config";
import { propEquals, referenced } from "./lib/links";
import { elements, read, UNKNOWN } from "./lib/props";
import { ServingConfig, servingConfigSchema, servingRoleOf } from "./lib/servingNodes";
import { T } from "./lib/types";

interface Config extends ServingConfig {
  minEfaInterfaces: number;
}

const configSchema: PolicyConfigSchema = {
  properties: {
    ...servingConfigSchema,
    minEfaInterfaces: { type: "integer", default: 1, description: "EFA interfaces each serving instance needs (dl1.24xlarge has 4)" },
  },
};

const isEfa = (interfaceType: unknown) => interfaceType === "efa" || interfaceType === "efa-only";
const ofType = (resources: readonly PolicyResource[], type: string) => resources.filter((r) => r.type === type);

/** The EFA interfaces an instance gets: from its launch template, inline secondary interfaces, or attached ENIs. */
function efaCount(instance: PolicyResource, all: readonly PolicyResource[]): number {
  const templates = referenced(instance, "launchTemplate", ofType(all, T.launchTemplate), (lt, v) => {
    const ref = v as { id?: unknown; name?: unknown };
    return (
      propEquals(
        lt,
        "id",
        read(() => ref.id),
      ) ||
      propEquals(
        lt,
        "name",
        read(() => ref.name),
      )
    );
  });
  const fromTemplates = templates
    .flatMap((lt) => elements<Record<string, any>>(() => lt.props.networkInterfaces))
    .filter((n) => n !== UNKNOWN && isEfa(read(() => n.interfaceType)));
  const inline = elements<Record<string, any>>(() => instance.props.secondaryNetworkInterfaces).filter(
    (n) => n !== UNKNOWN && isEfa(read(() => n.interfaceType)),
  );
  const eniIds = elements<Record<string, any>>(() => instance.props.networkInterfaces).map((n) =>
    n === UNKNOWN ? UNKNOWN : read(() => n.networkInterfaceId),
  );
  const enis = referenced(instance, "networkInterfaces", ofType(all, T.networkInterface), (eni) => eniIds.some((id) => propEquals(eni, "id", id)));
  return fromTemplates.length + inline.length + enis.filter((eni) => isEfa(read(() => eni.props.interfaceType))).length;
}

/** The placement groups an instance is in (by name or id); UNKNOWN when that cannot be told yet. */
function placementOf(instance: PolicyResource, groups: readonly PolicyResource[]): PolicyResource[] | typeof UNKNOWN {
  const byName = referenced(instance, "placementGroup", groups, (pg, v) => propEquals(pg, "name", v));
  const byId = referenced(instance, "placementGroupId", groups, (pg, v) => propEquals(pg, "placementGroupId", v) || propEquals(pg, "id", v));
  const found = [...new Set([...byName, ...byId])];
  const unknownRef = read(() => instance.props.placementGroup) === UNKNOWN || read(() => instance.props.placementGroupId) === UNKNOWN;
  return found.length === 0 && unknownRef ? UNKNOWN : found;
}

export const efaClusterPlacement: StackValidationPolicy = {
  name: "efa-cluster-placement",
  description: "With more than one serving node, all serving instances share one cluster placement group and have EFA interfaces.",
  enforcementLevel: "mandatory",
  configSchema,
  validateStack: (args, reportViolation) => {
    const c = configOf<Config>(configSchema, args);
    const serving = ofType(args.resources, T.instance).filter((r) => servingRoleOf(r.props, c));
    if (serving.length < 2) return args.notApplicable("fewer than two serving instances");
    const groups = ofType(args.resources, T.placementGroup);
    const used = new Map<string, PolicyResource>();
    for (const instance of serving) {
      const placed = placementOf(instance, groups);
      if (placed !== UNKNOWN) {
        const cluster = placed.filter((pg) => read(() => pg.props.strategy) === "cluster");
        cluster.forEach((pg) => used.set(pg.urn, pg));
        if (cluster.length === 0)
          reportViolation(
            `${instance.name}: is in no cluster placement group; set placementGroup to an aws.ec2.PlacementGroup with strategy "cluster" (EFA between nodes needs it)`,
            instance.urn,
          );
      }
      const efa = efaCount(instance, args.resources);
      if (efa < c.minEfaInterfaces)
        reportViolation(
          `${instance.name}: has ${efa} EFA interface(s), needs at least ${c.minEfaInterfaces}; launch it from a template whose networkInterfaces have interfaceType "efa"`,
          instance.urn,
        );
    }
    if (used.size > 1)
      reportViolation(
        `serving instances are split over placement groups ${[...used.values()].map((pg) => pg.name).join(", ")}; put them all in one cluster placement group`,
      );
  },
};
