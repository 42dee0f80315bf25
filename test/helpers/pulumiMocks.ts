// Runs Pulumi code offline under pulumi.runtime.setMocks and records every resource (type, name, inputs,
// options) and invoke, with AWS answers fixed so two runs of the same program register the same values.
import * as pulumi from "@pulumi/pulumi";
import { Stack } from "@pulumi/pulumi/runtime/stack";
import { COMPONENT_TYPES, REMOTE_COMMAND_TYPE } from "../../components/names";
import { readStackConfig } from "../../components/stackConfig";

/** How the mock monitor marks a secret value in the inputs it receives. */
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

export const TYPES = {
  stack: "pulumi:pulumi:Stack",
  provider: "pulumi:providers:aws",
  ...COMPONENT_TYPES,
  instance: "aws:ec2/instance:Instance",
  eip: "aws:ec2/eip:Eip",
  launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
  placementGroup: "aws:ec2/placementGroup:PlacementGroup",
  keyPair: "aws:ec2/keyPair:KeyPair",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  command: REMOTE_COMMAND_TYPE,
} as const;

export interface Recorded {
  readonly type: string;
  readonly name: string;
  /** As the engine would receive them: secrets still wrapped (see isSecretValue / reveal). */
  readonly inputs: Record<string, unknown>;
  readonly dependsOn: string[];
  readonly deleteBeforeReplace: boolean;
  readonly customTimeouts: pulumi.CustomTimeouts | undefined;
  readonly additionalSecretOutputs: string[];
  /** The parent's name (a PdCluster's PdServing shares its name; the type chain in the URN tells them apart). */
  readonly parent: string | undefined;
  /** The URN the engine gives it: the types of its parents (the stack left out) and its own, joined by `$`. */
  readonly urn: string;
}

export interface Run {
  readonly resources: Recorded[];
  readonly invokes: { token: string; inputs: Record<string, unknown> }[];
  /** The stack outputs (or the component outputs the body returned), resolved, secrets wrapped. */
  readonly outputs: Record<string, unknown>;
}

export const isSecretValue = (v: unknown): v is { value: unknown } =>
  typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;

/** A value with every secret wrapper removed. */
export function reveal(v: unknown): unknown {
  if (isSecretValue(v)) return reveal(v.value);
  if (Array.isArray(v)) return v.map(reveal);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
  return v;
}

/** Every string in a value that is not inside a secret wrapper. */
export function plainStrings(v: unknown): string[] {
  if (isSecretValue(v)) return [];
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.flatMap(plainStrings);
  if (typeof v === "object" && v !== null) return Object.values(v).flatMap(plainStrings);
  return [];
}

/** Deterministic addresses per machine (or node) name: `gaudi-pd-prefill-1` and `prefill-1` → 10.1.0.11 private, 198.51.101.11 public. */
const ROLE_OCTET: Record<string, number> = { prefill: 1, decode: 2, pd: 3, router: 4 };
export function mockAddresses(name: string): { privateIp: string; publicIp: string } {
  const m = /(?:^|-)(prefill|decode|pd|router)(?:-(\d+))?(?:-eip)?$/.exec(name);
  if (!m) return { privateIp: "10.9.9.9", publicIp: "198.51.100.250" };
  const role = ROLE_OCTET[m[1]];
  const rank = Number(m[2] ?? 0);
  return { privateIp: `10.${role}.${Math.floor(rank / 200)}.${10 + (rank % 200)}`, publicIp: `198.51.${100 + role}.${10 + (rank % 200)}` };
}

export const AMI_ID = "ami-0123456789abcdef0";
export const DEFAULT_VPC = "vpc-default";
export const ZONES = ["us-east-1c", "us-east-1d"];
export const SUBNETS = ["subnet-0bbb", "subnet-0aaa"];

function invokeResult(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (token) {
    case "aws:ec2/getAmi:getAmi":
      return { id: AMI_ID, imageId: AMI_ID };
    case "aws:ec2/getVpc:getVpc":
      return { id: DEFAULT_VPC };
    case "aws:ec2/getSubnet:getSubnet":
      return { id: inputs.id, vpcId: "vpc-of-subnet" };
    case "aws:ec2/getSubnets:getSubnets":
      return { id: "subnets", ids: SUBNETS };
    case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
      return {
        id: "offerings",
        locations: ZONES,
        locationTypes: ZONES.map(() => "availability-zone"),
        instanceTypes: ZONES.map(() => "dl1.24xlarge"),
      };
    default:
      throw new Error(`unmocked invoke ${token}`);
  }
}

function resourceState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case TYPES.instance:
      return { ...inputs, ...mockAddresses(name), primaryNetworkInterfaceId: `eni-${name}` };
    case TYPES.eip:
      return { ...inputs, publicIp: mockAddresses(name).publicIp };
    case TYPES.launchTemplate:
      return { ...inputs, latestVersion: 1 };
    case TYPES.keyPair:
      return { ...inputs, keyName: `${name}-1234` };
    case TYPES.placementGroup:
      return { ...inputs, name: `${name}-1234` };
    default:
      return inputs;
  }
}

const nameOf = (r: unknown) => (r as { __name?: string }).__name ?? "?";
const typeOf = (r: unknown) => (r as { __pulumiType?: string }).__pulumiType ?? "?";

/** The types of a resource's parents, outermost first, without the stack (URNs leave it out). */
function parentTypes(parent: pulumi.Resource | undefined): string[] {
  const chain: string[] = [];
  for (let p: unknown = parent; p; p = (p as { __parentResource?: unknown }).__parentResource)
    if (typeOf(p) !== TYPES.stack) chain.unshift(typeOf(p));
  return chain;
}

/** Run `body` as a stack under mocks, recording what it registers even when it fails; it returns the stack outputs. */
export async function settleMocked(body: () => Record<string, unknown> | Promise<Record<string, unknown>>): Promise<Run & { error?: Error }> {
  const resources: Recorded[] = [];
  const invokes: Run["invokes"] = [];
  const options = new Map<string, Omit<Recorded, "type" | "name" | "inputs" | "urn"> & { typeChain: string[] }>();
  await pulumi.runtime.setMocks(
    {
      newResource: (a) => {
        const o = options.get(`${a.type}::${a.name}`);
        const urn = `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::${[...(o?.typeChain ?? []), a.type].join("$")}::${a.name}`;
        resources.push({
          type: a.type,
          name: a.name,
          inputs: a.inputs,
          dependsOn: o?.dependsOn ?? [],
          deleteBeforeReplace: o?.deleteBeforeReplace ?? false,
          customTimeouts: o?.customTimeouts,
          additionalSecretOutputs: o?.additionalSecretOutputs ?? [],
          parent: o?.parent,
          urn,
        });
        return { id: `${a.name}-id`, state: resourceState(a.type, a.name, a.inputs) };
      },
      call: (a) => {
        invokes.push({ token: a.token, inputs: a.inputs });
        return invokeResult(a.token, a.inputs);
      },
    },
    "gaudi-pd",
    "test",
    false,
  );
  // runInPulumiStack, but with the Stack in hand: a failing program rejects every promise of its outputs, and
  // only the engine's language host (not node:test) knows to report that once.
  const stack = new Stack(async () => {
    pulumi.runtime.registerStackTransformation((t) => {
      const o = t.opts as pulumi.CustomResourceOptions;
      const deps = o.dependsOn === undefined ? [] : ([] as unknown[]).concat(o.dependsOn);
      options.set(`${t.type}::${t.name}`, {
        dependsOn: deps.map(nameOf),
        deleteBeforeReplace: o.deleteBeforeReplace === true,
        customTimeouts: o.customTimeouts,
        additionalSecretOutputs: o.additionalSecretOutputs ?? [],
        parent: o.parent ? nameOf(o.parent) : undefined,
        typeChain: parentTypes(o.parent),
      });
      return undefined;
    });
    return body();
  });
  const stackOutputs = stack.outputs as unknown as {
    isKnown: Promise<boolean>;
    isSecret: Promise<boolean>;
    promise(): Promise<Record<string, unknown>>;
  };
  for (const p of [stackOutputs.isKnown, stackOutputs.isSecret]) p.catch(() => undefined);
  const [outputs, error] = await stackOutputs.promise().then(
    (o) => [o, undefined] as const,
    (e: Error) => [undefined, e] as const,
  );
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  return { resources, invokes, outputs: (outputs ?? {}) as Record<string, unknown>, error };
}

/** Run `body` as a stack under mocks; its failure fails the caller. */
export async function runMocked(body: () => Record<string, unknown> | Promise<Record<string, unknown>>): Promise<Run> {
  const { error, ...run } = await settleMocked(body);
  if (error) throw error;
  return run;
}

/** The Pulumi program (index.ts) run afresh under mocks with `config` as its stack config; failures are returned. */
export async function settleProgram(config: Record<string, unknown>, secretKeys: string[] = []): Promise<Run & { error?: Error }> {
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
    secretKeys,
  );
  const program = require.resolve("../../index");
  delete require.cache[program];
  return settleMocked(() => require(program));
}

/** The Pulumi program run under mocks; its failure fails the caller. */
export async function runProgram(config: Record<string, unknown>, secretKeys: string[] = []): Promise<Run> {
  const { error, ...run } = await settleProgram(config, secretKeys);
  if (error) throw error;
  return run;
}

export const TEST_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBJlc3Qta2V5LWZvci1nYXVkaS1wZA test@gaudi-pd";
export const TEST_PRIVATE_KEY =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdGVzdC1vbmx5LW5vdC1hLXJlYWwta2V5\n-----END OPENSSH PRIVATE KEY-----\n";
export const TEST_HF_TOKEN = "hf_TestTokenNeverInPlainText0123456789";

/** A stack file's config plus the secrets `pulumi config set --secret` would add (and the public key for AWS stacks). */
export function stackConfig(
  stack: string,
  edit: (c: Record<string, unknown>) => void = () => {},
): { config: Record<string, unknown>; secretKeys: string[] } {
  const file = readStackConfig(`${__dirname}/../../stacks`, stack);
  if (!file) throw new Error(`no stack file for ${stack}`);
  const config: Record<string, unknown> = structuredClone(file);
  const infra = config["gaudi-pd:infra"] as Record<string, unknown>;
  if (infra.kind === "aws") infra.publicKey = TEST_PUBLIC_KEY;
  config["gaudi-pd:sshPrivateKey"] = TEST_PRIVATE_KEY;
  config["gaudi-pd:hfToken"] = TEST_HF_TOKEN;
  edit(config);
  return { config, secretKeys: ["gaudi-pd:sshPrivateKey", "gaudi-pd:hfToken"] };
}

export const byType = (run: Run, type: string) => run.resources.filter((r) => r.type === type);
export const named = (run: Run, name: string) => {
  const r = run.resources.find((x) => x.name === name && x.type !== TYPES.stack);
  if (!r) throw new Error(`no resource named ${name} (have ${run.resources.map((x) => x.name).join(", ")})`);
  return r;
};
export function countsByType(run: Run): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of run.resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return counts;
}
