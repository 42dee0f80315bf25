// The cluster topology: the stack config `gaudi-pd:*` (or the CLI's flags) validated into one typed object.
// Defaults are the seed launcher's; every problem is reported at once, one line each, with its path.
import { z } from "zod";
import {
  absolutePath,
  cloudId,
  commandName,
  envName,
  envValue,
  hostAddress,
  ipv4Cidr,
  loginName,
  modelId,
  optionalPath,
  plainText,
} from "./fieldTypes";
import { gaudiMachineOf, UNKNOWN_MACHINE } from "./gaudiMachines";
import { DEDICATED_ROUTER_NODE, nodeNameOf } from "./names";
import { nearestName } from "./nearestName";
import { ConfigError, Problem, problem, shownValue } from "./problems";

export const ROLES = ["prefill", "decode"] as const;
export type Role = (typeof ROLES)[number];

export const ROUTER_POLICIES = ["random", "round_robin", "cache_aware", "power_of_two", "consistent_hash"] as const;
export const NIXL_BACKENDS = ["UCX", "LIBFABRIC"] as const;
export const BUFFER_DEVICES = ["cpu", "hpu"] as const;
/** Which NIXL side-channel ports vLLM binds: one per engine (current vllm-gaudi) or one per TP worker (2025 builds). */
export const SIDE_CHANNEL_LAYOUTS = ["perEngine", "perTpWorker"] as const;
export type SideChannelLayout = (typeof SIDE_CHANNEL_LAYOUTS)[number];

/** The pinned vllm-router release: the package the router host installs and the simulator runs. */
export const VLLM_ROUTER_VERSION = "0.1.17";

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);
const port = int(1024, 65535);

/** Settings shared by both roles: set at top level, overridable in `prefill:` / `decode:`. */
// Each field's description is its documentation: Pulumi.yaml's config block is held to it (test/config-defaults.test.ts).
const sharedShape = {
  maxModelLen: int(1).optional().describe("Longest sequence an instance accepts, prompt plus output, in tokens (vLLM --max-model-len)"),
  maxNumBatchedTokens: int(1).optional().describe("Most tokens an instance schedules in one step (vLLM --max_num_batched_tokens)"),
  maxNumSeqs: int(1).optional().describe("Most requests an instance runs at once (vLLM --max-num-seqs)"),
  maxCudagraphCaptureSize: int(1).optional().describe("Largest batch, in tokens, captured as an HPU graph (vLLM --max-cudagraph-capture-size)"),
  gpuMemoryUtilization: z
    .number()
    .gt(0)
    .max(1)
    .optional()
    .describe("Fraction of each HPU's memory vLLM may take, above 0 and at most 1 (vLLM --gpu-memory-utilization)"),
  longPrefillTokenThreshold: int(1)
    .optional()
    .describe("Prompts longer than this many tokens are scheduled as long prefills (vLLM --long_prefill_token_threshold)"),
  enforceEager: z.boolean().optional().describe("Run eagerly, without HPU graphs (vLLM --enforce-eager)"),
  prefixCaching: z.boolean().optional().describe("Reuse the KV cache of shared prompt prefixes; off passes --no-enable-prefix-caching"),
  warmup: z.boolean().optional().describe("Run Gaudi warmup before serving; off sets VLLM_SKIP_WARMUP=True (faster start, slower first requests)"),
  expertParallel: z.boolean().optional().describe("Spread a mixture-of-experts model's experts over the HPUs (vLLM --enable-expert-parallel)"),
  profile: z.boolean().optional().describe("HPU and torch profiling, written into the log directory"),
  debug: z.boolean().optional().describe("Debug logging (VLLM_LOGGING_LEVEL=DEBUG)"),
  // Empty means off, so Pulumi.yaml can declare them with a default.
  incConfig: optionalPath
    .optional()
    .describe("Path on the hosts of an INC fp8 quantization config (QUANT_CONFIG, --kv_cache_dtype fp8_inc); empty is off"),
  recipeCacheDir: optionalPath.optional().describe("Directory on the hosts for the HPU graph recipe cache; empty is off"),
  env: z
    .record(envName, envValue)
    .optional()
    .describe("Extra environment variables for every instance (NAME: value); may not replace one gaudi-pd derives"),
  nixl: z
    .strictObject({
      bufferDevice: z.enum(BUFFER_DEVICES).optional().describe("Where NIXL stages KV blocks for transfer: cpu (host memory) or hpu (device memory)"),
      backend: z.enum(NIXL_BACKENDS).optional().describe("NIXL transport: UCX, or LIBFABRIC (AWS EFA)"),
      ucxTls: z
        .string()
        .max(256, "must be at most 256 characters")
        .regex(/^[a-z0-9_]+(,[a-z0-9_]+)*$/, "must be a comma-separated list of UCX transports")
        .optional()
        .describe("UCX transports NIXL may use, comma-separated (UCX_TLS)"),
      sideChannelLayout: z
        .enum(SIDE_CHANNEL_LAYOUTS)
        .optional()
        .describe("Side-channel ports vLLM binds: perEngine (one per instance, current vllm-gaudi) or perTpWorker (one per TP worker, 2025 builds)"),
    })
    .optional()
    .describe("KV-cache transfer from prefill to decode over NIXL: bufferDevice, backend, ucxTls, sideChannelLayout"),
};

const SHARED_DEFAULTS = {
  maxModelLen: 8192,
  maxNumBatchedTokens: 8192,
  maxNumSeqs: 256,
  maxCudagraphCaptureSize: 4096,
  gpuMemoryUtilization: 0.75,
  longPrefillTokenThreshold: 8192,
  enforceEager: false,
  prefixCaching: false,
  warmup: false,
  expertParallel: true,
  profile: false,
  debug: false,
  incConfig: null as string | null,
  recipeCacheDir: null as string | null,
  env: {} as Readonly<Record<string, string>>,
  nixl: {
    bufferDevice: "cpu" as (typeof BUFFER_DEVICES)[number],
    backend: "UCX" as (typeof NIXL_BACKENDS)[number],
    ucxTls: "rc,ud,ib",
    sideChannelLayout: "perEngine" as SideChannelLayout,
  },
};

const roleSchema = z.strictObject({
  // No cap here: the planner refuses what overflows the port range (its limit depends on the port bases).
  nodes: int(1).default(1).describe("Machines this role runs on"),
  instancesPerNode: int(1, 8).default(1).describe("vLLM instances on each machine, 1-8"),
  tpSize: int(1, 8).default(1).describe("Tensor-parallel size: HPUs each instance spans, 1-8"),
  dpSize: int(1).default(1).describe("Data-parallel size: 1 (independent instances) or instancesPerNode × nodes (one DP group over the role)"),
  asyncScheduling: z.boolean().default(false).describe("vLLM --async-scheduling; decode only"),
  ...sharedShape,
});
const roleBlock = (fields: string) => `${fields}, and any top-level vLLM or nixl setting it overrides`;

const sshTarget = {
  address: hostAddress.describe("Address gaudi-pd reaches the machine at over SSH: IPv4, IPv6 or DNS name"),
  privateAddress: hostAddress.optional().describe("Address the other machines reach it at (DP, NIXL and router traffic); default: address"),
  user: loginName.optional().describe("SSH login; default: infra.sshUser"),
  port: int(1, 65535).optional().describe("SSH port; default: infra.sshPort"),
};
const hostSchema = z.strictObject(sshTarget);

const awsInfraSchema = z.strictObject({
  kind: z.literal("aws").describe("aws: gaudi-pd creates the machines as EC2 instances"),
  region: cloudId(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, "us-east-1")
    .optional()
    .describe("AWS region; default: the stack's aws:region"),
  instanceType: cloudId(/^[a-z0-9-]+\.[a-z0-9-]+$/, "dl1.24xlarge")
    .default("dl1.24xlarge")
    .describe("EC2 instance type of the Gaudi machines"),
  // Both default to the instance type's (components/gaudiMachines.ts).
  hpusPerNode: int(1, 64).optional().describe("HPUs on each machine; default: the instance type's"),
  efaInterfaces: int(0, 32).optional().describe("EFA network interfaces on each machine; default: the instance type's"),
  ami: z
    .union([
      z.strictObject({ id: cloudId(/^ami-[0-9a-f]{1,17}$/, "ami-0123abcd").describe("AMI id") }),
      z.strictObject({
        owner: cloudId(/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/, "amazon or 123456789012").describe("AMI owner: an account id or an alias such as amazon"),
        name: plainText(128).describe("AMI name filter (* matches anything); the newest available match is used"),
      }),
    ])
    .describe("Machine image: {id}, or {owner, name} for the newest image matching the name"),
  vpcId: cloudId(/^vpc-[0-9a-z]{1,17}$/, "vpc-0123abcd")
    .optional()
    .describe("VPC to create the machines in; default: the subnet's, else the region's default VPC"),
  subnetId: cloudId(/^subnet-[0-9a-z]{1,17}$/, "subnet-0123abcd")
    .optional()
    .describe("Subnet of every machine (one placement group); default: a subnet of the VPC in a zone offering the instance type"),
  sshCidrs: z.array(ipv4Cidr).min(1).max(64).describe("IPv4 CIDRs allowed to reach the machines over SSH, 1-64 of them"),
  routerCidrs: z.array(ipv4Cidr).max(64).default([]).describe("IPv4 CIDRs allowed to reach the router's port; default: none"),
  sshUser: loginName.default("ubuntu").describe("SSH login the AMI provides"),
  publicKey: z
    .string()
    .max(16384, "must be at most 16384 characters")
    .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/, "must be an OpenSSH public key line")
    .optional()
    .describe("OpenSSH public key line installed for sshUser; required to deploy (its private half is gaudi-pd:sshPrivateKey)"),
  rootVolumeGb: int(50, 16384).default(500).describe("Root volume of each machine, in GB (50-16384)"),
  routerInstanceType: cloudId(/^[a-z0-9-]+\.[a-z0-9-]+$/, "c6i.large")
    .default("c6i.large")
    .describe("EC2 instance type of the dedicated router machine"),
});

const hostsInfraSchema = z.strictObject({
  kind: z.literal("hosts").describe("hosts: existing machines gaudi-pd reaches over SSH"),
  hpusPerNode: int(1, 64).default(UNKNOWN_MACHINE.hpus).describe("HPUs on each machine"),
  sshUser: loginName.default("ubuntu").describe("SSH login of every machine that names none"),
  sshPort: int(1, 65535).default(22).describe("SSH port of every machine that names none"),
  prefill: z.array(hostSchema).max(64).default([]).describe("The prefill nodes' machines, in rank order (colocate: false)"),
  decode: z.array(hostSchema).max(64).default([]).describe("The decode nodes' machines, in rank order (colocate: false)"),
  pd: z.array(hostSchema).max(64).default([]).describe("Machines running both roles, in rank order (colocate: true)"),
  router: hostSchema.optional().describe('The dedicated router\'s machine (required when router.placement is "dedicated")'),
  bastion: z.strictObject(sshTarget).optional().describe("Jump host every SSH connection goes through; default: none"),
});

const POLICIES = ROUTER_POLICIES.join(", ");
/**
 * Seconds the router allows beyond the nodes' health timeout: it starts with the nodes, and vllm-router binds its port
 * only once it has seen every worker healthy, so by default it waits as long as they may take to start, and a minute more.
 */
export const ROUTER_AFTER_WORKERS_SECS = 60;

const routerSchema = z.strictObject({
  port: port.default(9192).describe("Port clients send requests to"),
  metricsPort: port.default(29000).describe("Port of the router's Prometheus metrics"),
  metricsBindAddress: hostAddress.optional().describe("Address the router's metrics endpoint listens on; default: the router host's private address"),
  bindAddress: hostAddress.default("0.0.0.0").describe("Address vllm-router binds (its --host); where the router runs is placement, not this"),
  prefillPolicy: z.enum(ROUTER_POLICIES).default("cache_aware").describe(`How the router picks a prefill instance: ${POLICIES}`),
  decodePolicy: z.enum(ROUTER_POLICIES).default("cache_aware").describe(`How the router picks a decode instance: ${POLICIES}`),
  placement: z
    .string()
    .min(1)
    .max(64, "must be at most 64 characters")
    .default("dedicated")
    .describe("Where the router runs: dedicated (a machine of its own) or a node such as prefill-0"),
  workerStartupTimeoutSecs: int(1)
    .optional()
    .describe("How long the router waits at startup for every instance to answer, in seconds; default: healthTimeoutSecs plus a minute"),
});

const portsSchema = z.strictObject({
  base: port.default(8300).describe("HTTP port of the first instance on the first node; the others count up from it (docs/architecture.md#ports)"),
  channelBase: port
    .default(4300)
    .describe("NIXL side-channel port handed to the first instance on the first node; the others count up from it as from base"),
  dpMaster: port
    .default(6300)
    .describe("Port of the prefill role's data-parallel master on its first node (decode's is shifted like its other ports)"),
});

/** huggingface_hub's cache when HF_HOME is unset, for root (who runs the host scripts): ~/.cache/huggingface. */
export const DEFAULT_HF_CACHE_DIR = "/root/.cache/huggingface";

const topologySchema = z.strictObject({
  model: modelId
    .default("ibm-research/PowerMoE-3b")
    .describe("Model to serve: a Hugging Face repository id (org/name) or an absolute path on the hosts"),
  ports: portsSchema
    .default(portsSchema.parse({}))
    .describe("Port bases: base (HTTP), channelBase (NIXL side channel), dpMaster (DP master); decode's are shifted (docs/architecture.md#ports)"),
  colocate: z
    .boolean()
    .default(false)
    .describe("Run prefill and decode on the same nodes, splitting each node's HPUs (the seed's single-node setup)"),
  logDir: absolutePath.default("/var/log/gaudi-pd").describe("Log directory on the hosts"),
  stateDir: absolutePath.default("/var/lib/gaudi-pd").describe("Directory on the hosts for scripts, env files and pid files"),
  hfCacheDir: absolutePath
    .default(DEFAULT_HF_CACHE_DIR)
    .describe("HF_HOME on the hosts: each node fetches the model into it once, then starts its instances offline from it"),
  vllmCommand: commandName.default("vllm").describe("The vLLM executable on the hosts: a command name on PATH or an absolute path"),
  healthTimeoutSecs: int(1).default(1200).describe("How long `wait` polls every instance's /health before failing, in seconds"),
  hfToken: z
    .string()
    .max(1024, "must be at most 1024 characters")
    .optional()
    .describe("Hugging Face token (a secret); reaches the hosts only in a 0600 file, never in a script"),
  prefill: roleSchema.default(roleSchema.parse({})).describe(`Prefill role: ${roleBlock("nodes, instancesPerNode, tpSize, dpSize")}`),
  decode: roleSchema.default(roleSchema.parse({})).describe(`Decode role: ${roleBlock("nodes, instancesPerNode, tpSize, dpSize, asyncScheduling")}`),
  router: routerSchema
    .default(routerSchema.parse({}))
    .describe("vllm-router: port, metricsPort, bindAddress, metricsBindAddress, prefillPolicy, decodePolicy, placement, workerStartupTimeoutSecs"),
  verify: z
    .union([
      z.boolean(),
      z.strictObject({
        requests: int(1, 1000).optional().describe("Requests sent through the router, 1-1000; default: enough for the decode policy"),
      }),
    ])
    .default(true)
    .describe("After deploying, prove each decode instance pulls KV over NIXL; false is off, {requests: N} sets the requests sent"),
  infra: z
    .discriminatedUnion("kind", [awsInfraSchema, hostsInfraSchema])
    .optional()
    .describe("Machines (required to deploy): {kind: aws, ami, sshCidrs, …} creates them; {kind: hosts, prefill: […], …} lists existing ones"),
  ...sharedShape,
});

/** The schema itself, for what documents it (Pulumi.yaml's config block is held to its descriptions). */
export const TOPOLOGY_SCHEMA = topologySchema;

/** The top-level keys of the stack config's `gaudi-pd:` namespace the schema reads. */
export const TOPOLOGY_KEYS: readonly string[] = Object.keys(topologySchema.shape);

export type SharedSettings = Omit<typeof SHARED_DEFAULTS, "nixl"> & { readonly nixl: typeof SHARED_DEFAULTS.nixl };
/** One role after defaults and top-level settings are merged in. */
export interface RoleTopology extends SharedSettings {
  readonly role: Role;
  readonly nodes: number;
  readonly instancesPerNode: number;
  readonly tpSize: number;
  readonly dpSize: number;
  readonly asyncScheduling: boolean;
}
export type AwsInfra = Omit<z.output<typeof awsInfraSchema>, "hpusPerNode" | "efaInterfaces"> & {
  readonly hpusPerNode: number;
  readonly efaInterfaces: number;
};
export type HostsInfra = z.output<typeof hostsInfraSchema>;
export type HostEntry = z.output<typeof hostSchema>;
export type Infra = AwsInfra | HostsInfra;
export type RouterSettings = Omit<z.output<typeof routerSchema>, "workerStartupTimeoutSecs"> & { readonly workerStartupTimeoutSecs: number };

export interface Topology {
  readonly model: string;
  readonly ports: { readonly base: number; readonly channelBase: number; readonly dpMaster: number };
  readonly colocate: boolean;
  readonly logDir: string;
  readonly stateDir: string;
  /** HF_HOME of every instance: the node fetches the model into it before they start offline. */
  readonly hfCacheDir: string;
  readonly vllmCommand: string;
  readonly healthTimeoutSecs: number;
  /** True when an HF token is configured; the token itself never enters the topology. */
  readonly hasHfToken: boolean;
  readonly hpusPerNode: number;
  readonly prefill: RoleTopology;
  readonly decode: RoleTopology;
  readonly router: RouterSettings;
  /** The check after the router: off, or on with a number of requests through the router (null: enough for the decode policy). */
  readonly verify: { readonly enabled: boolean; readonly requests: number | null };
  readonly infra: Infra | null;
}

const describe = shownValue;
const pathOf = (path: readonly PropertyKey[]) =>
  path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), "");

/** The schema at `path` (and the raw value there), following discriminated unions by the raw `kind`. */
function schemaAt(path: readonly PropertyKey[], raw: unknown): { schema: z.ZodType; value: unknown } | null {
  let schema: z.ZodType = topologySchema;
  let value: unknown = raw;
  for (const p of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[String(p)];
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else if (schema instanceof z.ZodDiscriminatedUnion) {
      const match = unionMatch(schema, value);
      if (!match) return null;
      schema = match.shape[String(p)] as z.ZodType;
    } else return null;
    value = (value as Record<PropertyKey, unknown> | undefined)?.[p];
    if (!schema) return null;
  }
  return { schema: unwrap(schema), value };
}

function unionMatch(schema: z.ZodDiscriminatedUnion, value: unknown): z.ZodObject | undefined {
  const kind = (value as { kind?: unknown })?.kind;
  return (schema.options as z.ZodObject[]).find((o) => (o.shape.kind as z.ZodLiteral).value === kind);
}

/** The keys an object schema at `path` accepts, for "did you mean" suggestions. */
function keysAt(path: readonly PropertyKey[], raw: unknown): string[] {
  const at = schemaAt(path, raw);
  if (!at) return [];
  const { schema, value } = at;
  if (schema instanceof z.ZodDiscriminatedUnion) {
    const match = unionMatch(schema, value);
    return match ? Object.keys(match.shape) : ["kind"];
  }
  if (schema instanceof z.ZodUnion) return (schema.options as z.ZodType[]).flatMap((o) => (o instanceof z.ZodObject ? Object.keys(o.shape) : []));
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
  return s;
}

/** Keys an earlier release spelled differently, and their names now. */
const RENAMED_KEYS: Readonly<Record<string, string>> = { "router.host": "router.bindAddress" };

function issueProblems(issue: z.core.$ZodIssue, raw: unknown): Problem[] {
  // A record key that is refused, or any key that is not plain, is named in the message, never in the path.
  const last = issue.path.at(-1);
  const badKey = issue.code === "invalid_key" || (typeof last === "string" && !PLAIN_KEY.test(last));
  const keyPath = badKey ? issue.path.slice(0, -1) : issue.path;
  const at = pathOf(keyPath);
  const keyNote = badKey ? `key ${shownValue(String(last))}: ` : "";
  return issueMessages(issue, raw).map(([sub, message]) =>
    sub !== null && !PLAIN_KEY.test(sub)
      ? problem(at, `key ${shownValue(sub)}: ${message}`)
      : problem(sub === null ? at : at ? `${at}.${sub}` : sub, `${keyNote}${message}`),
  );
}

/** Keys shown in a problem's path: short identifiers; anything else is described in the message. */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;

/** Messages of one schema issue, each with the key under the issue's path it is about (null: the path itself). */
function issueMessages(issue: z.core.$ZodIssue, raw: unknown): Array<[string | null, string]> {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "unrecognized_keys": {
      const valid = keysAt(issue.path, raw);
      return issue.keys.map((k) => {
        const near = nearestName(k, valid);
        const renamed = RENAMED_KEYS[[...issue.path, k].join(".")];
        if (renamed) return [k, `renamed to ${renamed}`];
        return [k, near ? `unknown key (did you mean "${near}"?)` : `unknown key (valid keys: ${valid.join(", ")})`];
      });
    }
    case "invalid_key":
      return [[null, issue.issues.map((i) => i.message).join("; ")]];
    case "invalid_type": {
      const received = (issue as { received?: string }).received;
      if (received === "NaN" || received === "Infinity") return [[null, `must be a finite number, got ${received === "NaN" ? ".nan" : ".inf"}`]];
      if (input === undefined) return [[null, `is required`]];
      return [[null, `must be ${issue.expected === "int" ? "an integer" : `a ${issue.expected}`}, got ${describe(input)}`]];
    }
    case "too_small":
      if (issue.origin === "array") return [[null, `must list at least ${issue.minimum} item(s)`]];
      if (issue.origin === "string") return [[null, `must not be empty`]];
      return [[null, `must be ${issue.inclusive ? "at least" : "greater than"} ${issue.minimum}, got ${describe(input)}`]];
    case "too_big":
      if (issue.origin === "string") return [[null, `must be at most ${issue.maximum} characters, got ${describe(input)}`]];
      if (issue.origin === "array") return [[null, `must list at most ${issue.maximum} item(s), got ${describe(input)}`]];
      return [[null, `must be at most ${issue.maximum}, got ${describe(input)}`]];
    case "invalid_value":
      return [[null, `must be one of ${issue.values.map((v) => String(v)).join(" | ")}, got ${describe(input)}`]];
    case "invalid_union":
      if (input === undefined) return [[null, `is required: ${unionForms(issue, raw)}`]];
      if ((issue as { note?: string }).note === "No matching discriminator")
        return [[null, `must be one of aws | hosts, got ${describe((input as { kind?: unknown } | undefined)?.kind ?? input)}`]];
      return [[null, `${describeUnion(issue)}`]];
    case "invalid_format":
      return [[null, `${issue.message}, got ${describe(input)}`]];
    default:
      return [[null, `${issue.message}`]];
  }
}

/** The accepted forms of a union of objects, by their keys: `{id} or {owner, name}`. */
function unionForms(issue: z.core.$ZodIssueInvalidUnion, raw: unknown): string {
  const schema = schemaAt(issue.path, raw)?.schema;
  if (!(schema instanceof z.ZodUnion)) return "a value";
  return (schema.options as z.ZodType[]).map((o) => (o instanceof z.ZodObject ? `{${Object.keys(o.shape).join(", ")}}` : "a value")).join(" or ");
}

function describeUnion(issue: z.core.$ZodIssueInvalidUnion): string {
  const alternatives = issue.errors.map((errs) => errs.map((e) => `${pathOf(e.path) || "value"} ${e.message}`).join("; "));
  return `matches no accepted form (${alternatives.join(" | or | ")})`;
}

const ROLE_SETTING_KEYS = Object.keys(SHARED_DEFAULTS) as (keyof typeof SHARED_DEFAULTS)[];

function mergeRole(role: Role, top: z.output<typeof topologySchema>, own: z.output<typeof roleSchema>): RoleTopology {
  const pick = <K extends keyof typeof SHARED_DEFAULTS>(k: K) => (own[k] ?? top[k] ?? SHARED_DEFAULTS[k]) as (typeof SHARED_DEFAULTS)[K];
  const settings = Object.fromEntries(ROLE_SETTING_KEYS.map((k) => [k, pick(k)])) as unknown as SharedSettings;
  return {
    ...settings,
    nixl: { ...SHARED_DEFAULTS.nixl, ...top.nixl, ...own.nixl },
    env: { ...top.env, ...own.env },
    role,
    nodes: own.nodes,
    instancesPerNode: own.instancesPerNode,
    tpSize: own.tpSize,
    dpSize: own.dpSize,
    asyncScheduling: own.asyncScheduling,
  };
}

/** Cross-field rules the schema alone cannot say. */
function consistencyProblems(t: Topology, raw: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  for (const r of [t.prefill, t.decode]) {
    const full = r.instancesPerNode * r.nodes;
    if (r.dpSize !== 1 && r.dpSize !== full)
      problems.push(problem(`${r.role}.dpSize`, `must be 1 or instancesPerNode × nodes (${full}), got ${r.dpSize}`));
    if (r.maxNumBatchedTokens < 128)
      problems.push(problem(`${r.role}.maxNumBatchedTokens`, `must be at least 128 (one prompt bucket), got ${r.maxNumBatchedTokens}`));
  }
  if ((raw.prefill as Record<string, unknown> | undefined)?.asyncScheduling === true)
    problems.push(problem("prefill.asyncScheduling", "async scheduling is for the decode role only"));
  if (t.colocate && t.prefill.nodes !== t.decode.nodes)
    problems.push(
      problem("colocate", `prefill.nodes (${t.prefill.nodes}) and decode.nodes (${t.decode.nodes}) must be equal when roles share nodes`),
    );
  const nodeNames = t.colocate ? ["pd"] : ["prefill", "decode"];
  if (t.router.placement !== "dedicated" && !new RegExp(`^(${nodeNames.join("|")})-\\d+$`).test(t.router.placement))
    problems.push(problem("router.placement", `must be "dedicated" or a node name such as ${nodeNames[0]}-0, got ${describe(t.router.placement)}`));
  if (t.infra?.kind === "hosts") problems.push(...hostsProblems(t, t.infra));
  return problems;
}

function hostsProblems(t: Topology, infra: HostsInfra): Problem[] {
  const problems: Problem[] = [];
  const wanted: Record<"prefill" | "decode" | "pd", number> = t.colocate
    ? { prefill: 0, decode: 0, pd: t.prefill.nodes }
    : { prefill: t.prefill.nodes, decode: t.decode.nodes, pd: 0 };
  for (const key of ["prefill", "decode", "pd"] as const) {
    const listed = infra[key].length;
    if (listed !== wanted[key]) {
      const why =
        key === "pd"
          ? t.colocate
            ? `colocate with ${wanted.pd} node(s)`
            : "colocate is false"
          : t.colocate
            ? "colocate is true (list them under infra.pd)"
            : `${key}.nodes is ${wanted[key]}`;
      problems.push(problem(`infra.${key}`, `${listed} host(s) listed, ${wanted[key]} expected (${why})`));
    }
  }
  problems.push(...sharedMachineProblems(t, infra));
  if (t.router.placement === "dedicated" && !infra.router)
    problems.push(problem("infra.router", 'required when router.placement is "dedicated" (or set router.placement to a node such as prefill-0)'));
  return problems;
}

/** The address cluster traffic (DP, NIXL, router) uses to reach an existing host: its private one when given. */
export const privateAddressOf = (h: HostEntry): string => h.privateAddress ?? h.address;

/** Every listed existing host: its node (or `router`), where it is listed, and its addresses. */
function listedHosts(infra: HostsInfra) {
  type Listed = { node: string; at: string; key: "prefill" | "decode" | "pd" | "router"; addresses: string[] };
  const hosts = (["prefill", "decode", "pd"] as const).flatMap((key): Listed[] =>
    infra[key].map((h, rank) => ({
      node: nodeNameOf(key, rank),
      at: `infra.${key}[${rank}]`,
      key,
      addresses: [h.address, h.privateAddress ?? h.address],
    })),
  );
  if (infra.router)
    hosts.push({
      node: DEDICATED_ROUTER_NODE,
      at: "infra.router",
      key: "router",
      addresses: [infra.router.address, infra.router.privateAddress ?? infra.router.address],
    });
  return hosts;
}

/** The machine each listed node (and `router`) runs on: hosts sharing a public or private address are one machine,
 *  named by the first such host's private address. Empty unless the infra is existing hosts. */
export function machinesOf(t: Topology): Record<string, string> {
  if (t.infra?.kind !== "hosts") return {};
  const hosts = listedHosts(t.infra);
  const machine: Record<string, string> = {};
  for (const h of hosts) {
    const same = hosts.find((o) => o.addresses.some((a) => h.addresses.includes(a)));
    machine[h.node] = same ? (machine[same.node] ?? same.addresses[1]) : h.addresses[1];
  }
  return machine;
}

/** A machine listed twice (in one role, or in both roles without colocate) would run two nodes' instances on one set of HPUs. */
function sharedMachineProblems(t: Topology, infra: HostsInfra): Problem[] {
  const hosts = listedHosts(infra).filter((h) => h.key !== "router");
  const problems: Problem[] = [];
  hosts.forEach((h, k) => {
    const first = hosts.slice(0, k).find((o) => o.addresses.some((a) => h.addresses.includes(a)));
    if (!first) return;
    const shared = h.addresses.find((a) => first.addresses.includes(a)) ?? "";
    const why =
      first.key === h.key
        ? "a machine is listed once"
        : `two roles on one machine need colocate: true${t.colocate ? "" : " (list the machine once, under infra.pd)"}`;
    problems.push(problem(h.at, `is the machine ${shownValue(shared)} again (${first.at}); ${why}`));
  });
  return problems;
}

/** Addresses the config already knows (existing hosts), keyed by node name and `router`; private before public. */
export function knownAddresses(t: Topology): Record<string, string> {
  if (t.infra?.kind !== "hosts") return {};
  const infra = t.infra;
  const entries = (["prefill", "decode", "pd"] as const).flatMap((key) => infra[key].map((h, rank) => [nodeNameOf(key, rank), privateAddressOf(h)]));
  if (infra.router) entries.push([DEDICATED_ROUTER_NODE, privateAddressOf(infra.router)]);
  return Object.fromEntries(entries);
}

/** What deploying needs beyond what planning needs (a plan can be read before any key exists). */
export function deployProblems(t: Topology): Problem[] {
  if (t.infra?.kind === "aws" && !t.infra.publicKey)
    return [
      problem("infra.publicKey", 'required to deploy on AWS (pulumi config set --path "gaudi-pd:infra.publicKey" "$(cat ~/.ssh/id_ed25519.pub)")'),
    ];
  return [];
}

/** Infra with the machine type's HPUs and EFA interfaces filled in where the config left them out. */
function infraOf(v: z.output<typeof topologySchema>["infra"]): Infra | null {
  if (!v) return null;
  if (v.kind === "hosts") return v;
  const machine = gaudiMachineOf(v.instanceType) ?? UNKNOWN_MACHINE;
  return { ...v, hpusPerNode: v.hpusPerNode ?? machine.hpus, efaInterfaces: v.efaInterfaces ?? machine.efaInterfaces };
}

function toTopology(v: z.output<typeof topologySchema>): Topology {
  const infra = infraOf(v.infra);
  return {
    model: v.model,
    ports: v.ports,
    colocate: v.colocate,
    logDir: v.logDir,
    stateDir: v.stateDir,
    hfCacheDir: v.hfCacheDir,
    vllmCommand: v.vllmCommand,
    healthTimeoutSecs: v.healthTimeoutSecs,
    hasHfToken: Boolean(v.hfToken),
    hpusPerNode: infra?.hpusPerNode ?? UNKNOWN_MACHINE.hpus,
    prefill: mergeRole("prefill", v, v.prefill),
    decode: mergeRole("decode", v, v.decode),
    router: { ...v.router, workerStartupTimeoutSecs: v.router.workerStartupTimeoutSecs ?? v.healthTimeoutSecs + ROUTER_AFTER_WORKERS_SECS },
    verify: typeof v.verify === "boolean" ? { enabled: v.verify, requests: null } : { enabled: true, requests: v.verify.requests ?? null },
    infra,
  };
}

/** A copy of raw without the values the schema refused (and unknown keys), so defaults stand in for them. */
function withoutRefused(raw: unknown, issues: readonly z.core.$ZodIssue[]): unknown {
  const copy = structuredClone(raw);
  const at = (path: readonly PropertyKey[]) =>
    path.reduce<unknown>((o, k) => (typeof o === "object" && o !== null ? (o as Record<PropertyKey, unknown>)[k] : undefined), copy);
  const remove = (parentPath: readonly PropertyKey[], keys: readonly PropertyKey[]) => {
    const parent = at(parentPath);
    if (typeof parent === "object" && parent !== null) for (const k of keys) delete (parent as Record<PropertyKey, unknown>)[k];
  };
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") remove(issue.path, issue.keys);
    else {
      // A refused `kind` refuses the whole union it selects.
      const path = issue.code === "invalid_union" && issue.path.at(-1) === "kind" ? issue.path.slice(0, -1) : issue.path;
      if (path.length) remove(path.slice(0, -1), [path[path.length - 1]]);
    }
  }
  return copy;
}

/** The config blocks a cross-field problem reads: its own, or every block for the rules that span roles. */
const blocksRead = (p: Problem) => {
  const head = p.path.split(/[.[]/)[0];
  return ["infra", "colocate", "router"].includes(head) ? ["prefill", "decode", "colocate", "router", "infra"] : [head];
};

/** Validate raw config (stack config without the `gaudi-pd:` prefix, or CLI flags) into a Topology.
 *  Every problem is reported at once: cross-field rules are also checked with refused values left at their
 *  defaults, keeping only the lines that read no block the schema refused something in. */
export function parseTopology(raw: unknown): Topology {
  const parsed = topologySchema.safeParse(raw ?? {}, { reportInput: true });
  if (parsed.success) {
    const topology = toTopology(parsed.data);
    const problems = consistencyProblems(topology, raw as Record<string, unknown>);
    if (problems.length) throw new ConfigError(problems);
    return topology;
  }
  const { issues } = parsed.error;
  const problems = issues.flatMap((i) => issueProblems(i, raw));
  const repaired = topologySchema.safeParse(withoutRefused(raw ?? {}, issues));
  if (repaired.success) {
    const refused = new Set(issues.map((i) => String(i.path[0] ?? "")));
    const crossField = consistencyProblems(toTopology(repaired.data), (repaired.data ?? {}) as Record<string, unknown>);
    problems.push(...crossField.filter((p) => !blocksRead(p).some((b) => refused.has(b))));
  }
  throw new ConfigError(problems);
}
