// Reading resource properties the way the policy runtime hands them over: during preview a value that is not
// yet known throws UnknownValueError on access; a Pulumi secret arrives plain (validation) or as a Secret (remediation).
import { UnknownValueError } from "@pulumi/policy";

/** Stands for a value that is unknown until the update runs (preview of a not-yet-created dependency). */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Maybe<T> = T | typeof UNKNOWN;

/** Runs a property read; a not-yet-known value on the way yields UNKNOWN instead of aborting the whole check. */
export function read<T>(get: () => T): Maybe<T> {
  try {
    return get();
  } catch (e) {
    if (e instanceof UnknownValueError) return UNKNOWN;
    throw e;
  }
}

/** The elements of an array property; UNKNOWN elements stay UNKNOWN, an absent or unknown array gives none. */
export function elements<T>(get: () => readonly T[] | undefined): Maybe<T>[] {
  const list = read(get);
  if (list === UNKNOWN || !Array.isArray(list)) return [];
  return Array.from({ length: list.length }, (_, i) => read(() => list[i]));
}

/** The stored value of `obj[key]`, read past the runtime's proxies: in a remediation a Pulumi secret is still a Secret here. */
export function storedValue(obj: object, key: string): unknown {
  return Object.getOwnPropertyDescriptor(obj, key)?.value;
}
