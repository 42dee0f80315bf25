// Which instances serve: GaudiNodes tags each machine `Role: prefill | decode | pd | router`; the serving
// ones are the Gaudi nodes. The tag key and roles are policy config, shared by the policies that need them.
import { PolicyConfigSchema } from "@pulumi/policy";
import { read } from "./props";

export interface ServingConfig {
  roleTag: string;
  servingRoles: string[];
}

/** The config schema entries for telling serving instances apart. */
export const servingConfigSchema: Record<keyof ServingConfig, PolicyConfigSchema["properties"][string]> = {
  roleTag: { type: "string", default: "Role", description: "The instance tag that holds the node's role" },
  servingRoles: {
    type: "array",
    items: { type: "string" },
    default: ["prefill", "decode", "pd"],
    description: "Role tag values of serving (Gaudi) nodes",
  },
};

/** The serving role of an instance from its tags, or undefined for other instances (the router, unrelated machines). */
export function servingRoleOf(props: Record<string, any>, c: ServingConfig): string | undefined {
  const role = read(() => props.tags?.[c.roleTag]);
  return typeof role === "string" && c.servingRoles.includes(role) ? role : undefined;
}
