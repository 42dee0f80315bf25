// Which resource a property points at, in a stack validation: the engine's property dependencies say so
// even while values are unknown (preview); once known, the value itself (a name or id) says so too.
import { PolicyResource } from "@pulumi/policy";
import { read, UNKNOWN } from "./props";

/** The candidates `from.props[key]` refers to: by property dependency, or when `sameAs(candidate, value)` holds. */
export function referenced(
  from: PolicyResource,
  key: string,
  candidates: readonly PolicyResource[],
  sameAs: (candidate: PolicyResource, value: unknown) => boolean,
): PolicyResource[] {
  const byDependency = new Set((from.propertyDependencies[key] ?? []).map((r) => r.urn));
  const value = read(() => from.props[key]);
  return candidates.filter((c) => byDependency.has(c.urn) || (value !== UNKNOWN && value !== undefined && sameAs(c, value)));
}

/** True when the known value of `prop` on `r` equals `value`. */
export function propEquals(r: PolicyResource, prop: string, value: unknown): boolean {
  const own = read(() => r.props[prop]);
  return own !== UNKNOWN && own !== undefined && own === value;
}
