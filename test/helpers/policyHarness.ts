// Runs gaudi-pd-guard policies the way @pulumi/policy's analyzer server does: properties arrive in the
// engine's wire form and are deserialized by the SDK itself (secrets unwrapped for validation, kept as
// Secret for remediation) behind its unknown-checking proxy; violations carry the effective level.
import {
  EnforcementLevel,
  Policy,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationPolicy,
  StackValidationPolicy,
  unknownCheckingProxy,
  UnknownValueError,
} from "@pulumi/policy";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";

// The SDK's own (internal) wire-form codecs and unknown sentinels, so tests see exactly what policies see.
const codec = require("@pulumi/policy/deserialize") as {
  deserializeProperties(struct: { toJavaScript(): object }, proxySecrets: boolean): Record<string, any>;
  serializeProperties(props: object): Promise<Record<string, any>>;
};
const sentinels = require("@pulumi/policy/proxy") as { unknownStringValue: string; unknownNumberValue: string; unknownArrayValue: string };

/** A Pulumi secret in the engine's wire form. */
export const secret = (value: unknown) => ({ [specialSigKey]: specialSecretSig, value });
/** True when a wire-form value is a secret. */
export const isWireSecret = (v: unknown) => typeof v === "object" && v !== null && (v as Record<string, unknown>)[specialSigKey] === specialSecretSig;
/** Values not known until the update runs (preview), in the engine's wire form. */
export const unknown = { string: sentinels.unknownStringValue, number: sentinels.unknownNumberValue, array: sentinels.unknownArrayValue };

/** A resource as a test declares it; dependencies and parent name (or give the URN of) other resources of the list. */
export interface TestResource {
  readonly urn?: string;
  readonly type: string;
  readonly name: string;
  readonly props: Record<string, unknown>;
  readonly opts?: Partial<PolicyResourceOptions>;
  readonly parent?: string;
  readonly dependencies?: readonly string[];
  readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
}

export interface Violation {
  readonly policy: string;
  readonly level: EnforcementLevel;
  readonly message: string;
  readonly urn?: string;
}

export interface Outcome {
  readonly violations: Violation[];
  /** The reason the policy declared itself not applicable, if it did. */
  readonly notApplicable?: string;
  /** Set when the policy hit a value unknown during preview (the server turns that into an advisory). */
  readonly unknownValue?: string;
}

export type PolicyConfig = Record<string, unknown> & { enforcementLevel?: EnforcementLevel };

class NotApplicable extends Error {}

const urnOf = (r: Pick<TestResource, "type" | "name"> & { urn?: string }) => r.urn ?? `urn:pulumi:test::gaudi-pd::${r.type}::${r.name}`;
const fromWire = (props: object, proxySecrets: boolean) =>
  unknownCheckingProxy(codec.deserializeProperties({ toJavaScript: () => structuredClone(props) }, proxySecrets));
const optionsOf = (r: TestResource): PolicyResourceOptions => ({
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
  ...r.opts,
});

/** The level violations are reported at: config over the policy's own, pack default advisory, remediate reports as mandatory. */
export function levelOf(policy: Policy, config: PolicyConfig = {}): EnforcementLevel {
  const level = config.enforcementLevel ?? policy.enforcementLevel ?? "advisory";
  return level === "remediate" ? "mandatory" : level;
}

function common(policy: Policy, config: PolicyConfig) {
  const { enforcementLevel: _, ...properties } = config;
  return {
    stackTags: new Map<string, string>(),
    getConfig: <T extends object>() => properties as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason ?? "");
    },
    isType: () => false,
    asType: () => undefined,
    level: levelOf(policy, config),
  };
}

async function outcomeOf(
  policy: Policy,
  level: EnforcementLevel,
  run: (report: (message: string, urn?: string) => void) => unknown,
): Promise<Outcome> {
  const violations: Violation[] = [];
  try {
    await run((message, urn) => violations.push({ policy: policy.name, level, message, ...(urn ? { urn } : {}) }));
  } catch (e) {
    if (e instanceof NotApplicable) return { violations, notApplicable: e.message };
    if (e instanceof UnknownValueError) return { violations, unknownValue: (e as Error).message };
    throw e;
  }
  return { violations };
}

/** Runs a resource policy's validations on one resource's inputs. */
export function validateResource(policy: ResourceValidationPolicy, r: TestResource, config: PolicyConfig = {}): Promise<Outcome> {
  const { level, ...rest } = common(policy, config);
  const validations = policy.validateResource === undefined ? [] : [policy.validateResource].flat();
  return outcomeOf(policy, level, async (report) => {
    for (const validate of validations)
      await validate({ ...rest, type: r.type, name: r.name, urn: urnOf(r), opts: optionsOf(r), props: fromWire(r.props, false) }, report);
  });
}

/** Runs a resource policy's remediation; the changed properties in wire form, or undefined when it left them alone (or does not apply). */
export async function remediateResource(
  policy: ResourceValidationPolicy,
  r: TestResource,
  config: PolicyConfig = {},
): Promise<Record<string, any> | undefined> {
  const { level: _, ...rest } = common(policy, config);
  try {
    const result = await policy.remediateResource?.({
      ...rest,
      type: r.type,
      name: r.name,
      urn: urnOf(r),
      opts: optionsOf(r),
      props: fromWire(r.props, true),
    });
    return result ? codec.serializeProperties(result) : undefined;
  } catch (e) {
    if (e instanceof NotApplicable) return undefined;
    throw e;
  }
}

/** Builds the stack's resources with parents and dependencies resolved, as the server does. */
export function stackResources(resources: readonly TestResource[]): PolicyResource[] {
  const built = resources.map((r) => ({
    r,
    pr: {
      type: r.type,
      name: r.name,
      urn: urnOf(r),
      opts: optionsOf(r),
      props: fromWire(r.props, false),
      dependencies: [],
      propertyDependencies: {},
      isType: () => false,
      asType: () => undefined,
    } as PolicyResource,
  }));
  const byRef = new Map<string, PolicyResource>();
  for (const { r, pr } of built) {
    byRef.set(pr.urn, pr);
    if (resources.filter((x) => x.name === r.name).length === 1) byRef.set(r.name, pr);
  }
  const resolve = (refs: readonly string[] = []) => refs.flatMap((n) => byRef.get(n) ?? []);
  for (const { r, pr } of built) {
    pr.dependencies = resolve(r.dependencies);
    pr.propertyDependencies = Object.fromEntries(Object.entries(r.propertyDependencies ?? {}).map(([k, refs]) => [k, resolve(refs)]));
    if (r.parent) pr.parent = byRef.get(r.parent);
  }
  return built.map((b) => b.pr);
}

/** Runs a stack policy over a whole stack. */
export function validateStack(policy: StackValidationPolicy, resources: readonly TestResource[], config: PolicyConfig = {}): Promise<Outcome> {
  const { level, stackTags, getConfig, notApplicable } = common(policy, config);
  return outcomeOf(policy, level, (report) =>
    policy.validateStack({ resources: stackResources(resources), stackTags, getConfig, notApplicable }, report),
  );
}

/** The messages of an outcome, for assertions. */
export const messages = (o: Outcome) => o.violations.map((v) => v.message);
