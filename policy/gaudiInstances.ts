// Serving nodes run on Gaudi: an instance type from the configured list (AWS offers Gaudi only as dl1.24xlarge), and
// not first-generation Gaudi, which vllm-gaudi does not support (mandatory by default; a user can lower it).
import { PolicyConfigSchema, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { GAUDI_INSTANCE_TYPES, unsupportedGeneration } from "../components/gaudiMachines";
import { configOf } from "./lib/config";
import { read } from "./lib/props";
import { ServingConfig, servingConfigSchema, servingRoleOf } from "./lib/servingNodes";
import { T } from "./lib/types";

/** The instance type of a serving instance, or undefined when the resource is none (or the type comes from a template). */
function servingInstanceType(args: ResourceValidationArgs, c: ServingConfig): string | undefined {
  if (args.type !== T.instance) return args.notApplicable("not an EC2 instance");
  if (!servingRoleOf(args.props, c)) return undefined;
  const type = read(() => args.props.instanceType);
  return typeof type === "string" ? type : undefined;
}

interface TypesConfig extends ServingConfig {
  instanceTypes: string[];
}

const typesSchema: PolicyConfigSchema = {
  properties: {
    ...servingConfigSchema,
    instanceTypes: {
      type: "array",
      items: { type: "string" },
      default: Object.keys(GAUDI_INSTANCE_TYPES),
      description: "Instance types with Gaudi accelerators",
    },
  },
};

export const gaudiInstanceTypes: ResourceValidationPolicy = {
  name: "gaudi-instance-types",
  description: "Serving nodes (prefill, decode, colocated) use a Gaudi instance type.",
  enforcementLevel: "mandatory",
  configSchema: typesSchema,
  validateResource: (args, reportViolation) => {
    const c = configOf<TypesConfig>(typesSchema, args);
    const type = servingInstanceType(args, c);
    if (type !== undefined && !c.instanceTypes.includes(type))
      reportViolation(
        `${args.name}: instanceType ${type} has no Gaudi accelerators (allowed: ${c.instanceTypes.join(", ")}); set infra.instanceType to one, or add it to this policy's instanceTypes`,
      );
  },
};

const generationSchema: PolicyConfigSchema = { properties: { ...servingConfigSchema } };

export const gaudiGeneration: ResourceValidationPolicy = {
  name: "gaudi-generation",
  description:
    "Serving nodes are not first-generation Gaudi (dl1): vllm-gaudi supports Gaudi 2 and 3 only. Mandatory by default; set this policy's " +
    "enforcementLevel to advisory to deploy anyway.",
  enforcementLevel: "mandatory",
  configSchema: generationSchema,
  validateResource: (args, reportViolation) => {
    const c = configOf<ServingConfig>(generationSchema, args);
    const type = servingInstanceType(args, c);
    const why = type === undefined ? null : unsupportedGeneration(type);
    if (why) reportViolation(`${args.name}: ${why}`);
  },
};
