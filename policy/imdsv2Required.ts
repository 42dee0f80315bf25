// Instance metadata only through IMDSv2 session tokens, so a request forged through a served endpoint
// cannot read the node's credentials.
import { ResourceValidationPolicy } from "@pulumi/policy";
import { read, UNKNOWN } from "./lib/props";
import { T } from "./lib/types";

export const imdsv2Required: ResourceValidationPolicy = {
  name: "imdsv2-required",
  description: "EC2 instances and launch templates require IMDSv2 (metadataOptions.httpTokens: required).",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== T.instance && args.type !== T.launchTemplate) return args.notApplicable("not an instance or launch template");
    const options = read(() => args.props.metadataOptions as { httpTokens?: unknown; httpEndpoint?: unknown } | undefined);
    if (options === UNKNOWN) return;
    // An instance launched from a template takes its metadata options from the template, checked on its own.
    if (options === undefined && args.type === T.instance && read(() => args.props.launchTemplate) !== undefined) return;
    const tokens = read(() => options?.httpTokens);
    const endpoint = read(() => options?.httpEndpoint);
    if (tokens === UNKNOWN || endpoint === UNKNOWN || tokens === "required" || endpoint === "disabled") return;
    const found = tokens === undefined ? "is not set" : `is ${JSON.stringify(tokens)}`;
    reportViolation(`${args.name}: metadataOptions.httpTokens ${found}; set metadataOptions: { httpTokens: "required" } (IMDSv2)`);
  },
};
