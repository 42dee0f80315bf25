// Serving nodes run on Gaudi: an instance type from the configured list (AWS offers Gaudi only as
// dl1.24xlarge), and an advisory that dl1 is first-generation Gaudi, which vllm-gaudi does not support.
import { PolicyConfigSchema, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
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
    instanceTypes: { type: "array", items: { type: "string" }, default: ["dl1.24xlarge"], description: "Instance types with Gaudi accelerators" },
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
      reportViolation(`${args.name}: instanceType ${type} has no Gaudi accelerators (allowed: ${c.instanceTypes.join(", ")}); set infra.instanceType to one, or add it to this policy's instanceTypes`);
  },
};

interface GenerationConfig extends ServingConfig {
  firstGenerationPrefixes: string[];
}

const generationSchema: PolicyConfigSchema = {
  properties: {
    ...servingConfigSchema,
    firstGenerationPrefixes: { type: "array", items: { type: "string" }, default: ["dl1."], description: "Instance type prefixes of first-generation Gaudi" },
  },
};

export const gaudiGeneration: ResourceValidationPolicy = {
  name: "gaudi-generation",
  description: "Advisory: dl1 instances carry first-generation Gaudi, while vllm-gaudi supports Gaudi 2 and Gaudi 3.",
  enforcementLevel: "advisory",
  configSchema: generationSchema,
  validateResource: (args, reportViolation) => {
    const c = configOf<GenerationConfig>(generationSchema, args);
    const type = servingInstanceType(args, c);
    if (type !== undefined && c.firstGenerationPrefixes.some((p) => type.startsWith(p)))
      reportViolation(`${args.name}: ${type} carries first-generation Gaudi, which vllm-gaudi does not support (Gaudi 2/3 only); serve on Gaudi 2/3 machines through infra.kind: hosts`);
  },
};
