// Policy config: a policy's schema declares each key's default, and the policy reads config through it,
// so a key the stack's policy config leaves out still has the documented value.
import { PolicyConfigSchema } from "@pulumi/policy";

/** The args every validation and remediation gets; only `getConfig` matters here. */
interface HasConfig {
  getConfig<T extends object>(): T;
}

/** The policy's config: the schema's defaults overlaid with what the policy config sets. */
export function configOf<T extends object>(schema: PolicyConfigSchema, args: HasConfig): T {
  const defaults = Object.fromEntries(
    Object.entries(schema.properties).flatMap(([key, prop]) => (prop.default === undefined ? [] : [[key, prop.default]])),
  );
  return { ...defaults, ...args.getConfig<Partial<T>>() } as T;
}
