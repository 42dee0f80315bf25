// The cluster plan: every node, rank, port, HPU module, environment variable and argv, derived purely
// from the topology. This file is the one source of truth for those formulas (docs/architecture.md#decisions).
import { isHostAddress } from "./fieldTypes";
import { DEDICATED_ROUTER_NODE, nodeNameOf, placeholderAddress } from "./names";
import { ConfigError, Problem, problem, shownValue } from "./problems";
import { machinesOf, Role, ROLES, RoleTopology, Topology } from "./topology";

/** Tells the host (and the stand-in) which side-channel layout the plan reserved ports for (docs/architecture.md#ports). */
export const SIDE_CHANNEL_LAYOUT_ENV = "GAUDI_PD_NIXL_SIDE_CHANNEL_LAYOUT";

/** Node ranks are spaced by this many ports (the seed's stride), so nodes of a role can share one host. */
export const NODE_PORT_STRIDE = 8;
/** The decode role shifts its serve, side-channel and DP-master ports by this much (as the launcher does). */
export const DECODE_PORT_SHIFT = 1000;

export interface InstancePlan {
  readonly role: Role;
  /** Name of the node that runs it (`prefill-0`, or `pd-0` when colocated). */
  readonly node: string;
  readonly nodeRank: number;
  /** Local index on its node (the seed's instance id). */
  readonly instance: number;
  readonly dpRank: number | null;
  /** The `vllm serve --port`. */
  readonly port: number;
  /** The first side-channel port vLLM binds under the role's layout (`sideChannelPorts[0]`). */
  readonly sideChannelPort: number;
  /** Every side-channel port it binds: one per engine, or one per TP worker (`nixl.sideChannelLayout`). */
  readonly sideChannelPorts: readonly number[];
  readonly dpMasterAddress: string | null;
  readonly dpMasterPort: number | null;
  readonly hpuModules: readonly number[];
  readonly env: Readonly<Record<string, string>>;
  readonly argv: readonly string[];
  /** `<role>_<instance>`: the tail of the log file name `vllm_server_<timestamp>_<role>_<instance>.log`. */
  readonly logName: string;
}

export interface NodePlan {
  /** `prefill-<rank>`, `decode-<rank>`, or `pd-<rank>` when both roles share the node. */
  readonly name: string;
  readonly rank: number;
  readonly roles: readonly Role[];
  /** The node's address: bound, or its symbolic name until the machine exists. */
  readonly address: string;
  readonly hpuModules: readonly number[];
  readonly instances: readonly InstancePlan[];
}

export interface RouterPlan {
  /** The node it runs on, or DEDICATED_ROUTER_NODE (`router`) for a dedicated host. */
  readonly node: string;
  readonly address: string;
  readonly port: number;
  readonly prefillUrls: readonly string[];
  readonly decodeUrls: readonly string[];
  readonly argv: readonly string[];
}

export interface ClusterPlan {
  readonly topology: Topology;
  /** What it was planned with: bindAddresses keeps these and adds addresses. */
  readonly options: PlanOptions;
  readonly nodes: readonly NodePlan[];
  readonly instances: readonly InstancePlan[];
  readonly router: RouterPlan;
}

export interface PlanOptions {
  /** Node (and `router`) addresses known so far; unknown ones stay symbolic. */
  readonly addresses?: Readonly<Record<string, string>>;
  /** Explicit DP master address per role (the launcher's `--dp-master-ip`); default: the role's rank-0 node. */
  readonly dpMaster?: Readonly<Partial<Record<Role, string>>>;
}

const roleShift = (role: Role) => (role === "decode" ? DECODE_PORT_SHIFT : 0);
const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

export function nodeName(topology: Topology, role: Role, rank: number): string {
  return nodeNameOf(topology.colocate ? "pd" : role, rank);
}

/** The seed's port formulas (docs/architecture.md#ports): serve, side-channel env value and DP master port of one instance. */
export function instancePorts(topology: Topology, role: Role, nodeRank: number, instance: number) {
  const shift = roleShift(role);
  const offset = NODE_PORT_STRIDE * nodeRank + instance;
  return {
    port: topology.ports.base + shift + offset,
    sideChannelEnvPort: topology.ports.channelBase + shift + offset,
    dpMasterPort: topology.ports.dpMaster + shift,
  };
}

/** DP rank of an instance (docs/architecture.md#dp-ranks), or null when the role runs without data parallelism. */
export function dpRankOf(r: RoleTopology, nodeRank: number, instance: number): number | null {
  return r.dpSize > 1 ? r.instancesPerNode * nodeRank + instance : null;
}

/** The side-channel ports an instance binds (docs/architecture.md#ports): perEngine at env value + DP index; perTpWorker one per TP
 *  worker at env value + dpRank·tpSize + tpRank. */
export function sideChannelPortsOf(r: RoleTopology, envPort: number, dpRank: number | null): number[] {
  const dp = dpRank ?? 0;
  if (r.nixl.sideChannelLayout === "perEngine") return [envPort + dp];
  return Array.from({ length: r.tpSize }, (_, tpRank) => envPort + dp * r.tpSize + tpRank);
}

/** HPU modules of an instance (docs/architecture.md#hpu-pinning); with colocate, decode takes the modules after prefill's. */
export function hpuModulesOf(topology: Topology, role: Role, instance: number): number[] {
  const r = topology[role];
  const first = (role === "decode" && topology.colocate ? topology.prefill.instancesPerNode * topology.prefill.tpSize : 0) + instance * r.tpSize;
  return Array.from({ length: r.tpSize }, (_, k) => first + k);
}

/** UCX transports for a role: `hpu` buffers need `gaudi_gdr`, added once (docs/architecture.md#nixl-buffer-device). */
export function ucxTlsOf(r: RoleTopology): string {
  const tls = r.nixl.ucxTls.split(",");
  return r.nixl.bufferDevice === "hpu" && !tls.includes("gaudi_gdr") ? [...tls, "gaudi_gdr"].join(",") : tls.join(",");
}

/** The `--kv-transfer-config` JSON (docs/architecture.md#kv-transfer-config), built as an object and serialized once. */
export function kvTransferConfig(r: RoleTopology): string {
  return JSON.stringify({
    kv_connector: "NixlConnector",
    kv_role: r.role === "prefill" ? "kv_producer" : "kv_consumer",
    kv_buffer_device: r.nixl.bufferDevice,
    kv_connector_extra_config: { backends: [r.nixl.backend] },
  });
}

/** Gaudi bucketing of a role: prefill buckets prompts, decode runs exponential buckets (docs/architecture.md#bucketing). */
export function bucketEnv(r: RoleTopology): Record<string, string> {
  if (r.role === "decode") {
    return {
      VLLM_MOE_CHUNK: "64, 128",
      VLLM_MOE_TOKEN_BOUNDARY: "2048, 4096",
      VLLM_EXPONENTIAL_BUCKETING: "true",
      VLLM_PROMPT_QUERY_BUCKET_MIN: "1",
      VLLM_PROMPT_QUERY_BUCKET_STEP: "1",
      VLLM_PROMPT_QUERY_BUCKET_MAX: "1",
    };
  }
  const promptBsMax = roundUp(Math.min(Math.floor(r.maxNumBatchedTokens / 128), r.maxNumSeqs, 8), 2);
  return {
    VLLM_SUPPORT_MOE_CHUNK: "false",
    VLLM_EXPONENTIAL_BUCKETING: "false",
    VLLM_PROMPT_BS_BUCKET_MIN: "1",
    VLLM_PROMPT_BS_BUCKET_STEP: "2",
    VLLM_PROMPT_BS_BUCKET_MAX: String(promptBsMax),
    VLLM_PROMPT_QUERY_BUCKET_MIN: "128",
    VLLM_PROMPT_QUERY_BUCKET_STEP: "128",
    VLLM_PROMPT_QUERY_BUCKET_MAX: String(roundUp(r.maxModelLen, 128)),
    VLLM_DECODE_BS_BUCKET_MIN: "1",
    VLLM_DECODE_BS_BUCKET_STEP: "1",
    VLLM_DECODE_BS_BUCKET_MAX: "1",
    VLLM_DECODE_BLOCK_BUCKET_MIN: "2",
    VLLM_DECODE_BLOCK_BUCKET_STEP: "1",
    VLLM_DECODE_BLOCK_BUCKET_MAX: "2",
    ...(r.prefixCaching ? {} : { VLLM_PROMPT_CTX_BUCKET_MAX: "0" }),
  };
}

interface InstanceSite {
  readonly role: Role;
  readonly node: string;
  readonly nodeRank: number;
  readonly instance: number;
  readonly sideChannelHost: string;
  readonly dpMasterAddress: string;
}

function instanceEnv(topology: Topology, r: RoleTopology, site: InstanceSite, sideChannelEnvPort: number, modules: number[]): Record<string, string> {
  const env: Record<string, string> = {
    VLLM_USE_V1: "1",
    PT_HPU_LAZY_MODE: "1",
    PT_HPU_ENABLE_LAZY_COLLECTIVES: "1",
    VLLM_SCALE_ADJUSTMENT: "0",
    VLLM_NIXL_SIDE_CHANNEL_HOST: site.sideChannelHost,
    VLLM_NIXL_SIDE_CHANNEL_PORT: String(sideChannelEnvPort),
    [SIDE_CHANNEL_LAYOUT_ENV]: r.nixl.sideChannelLayout,
    UCX_TLS: ucxTlsOf(r),
    VLLM_NIXL_DEVICE_TO_DEVICE: String(r.nixl.bufferDevice === "hpu"),
    HABANA_VISIBLE_MODULES: modules.join(","),
    // The node fetched the model into this cache before starting its instances: they read it and never the hub.
    HF_HOME: topology.hfCacheDir,
    HF_HUB_OFFLINE: "1",
    ...bucketEnv(r),
  };
  if (r.nixl.bufferDevice === "hpu") env.UCX_MEMTYPE_CACHE = "0";
  if (!r.warmup) env.VLLM_SKIP_WARMUP = "True";
  if (r.debug) env.VLLM_LOGGING_LEVEL = "DEBUG";
  if (r.profile) {
    env.HABANA_PROFILE = "1";
    env.VLLM_PROFILER_ENABLED = "1";
    env.VLLM_TORCH_PROFILER_DIR = `${topology.logDir}/profile_${site.role}_${site.nodeRank}_${site.instance}`;
  }
  if (r.recipeCacheDir) env.PT_HPU_RECIPE_CACHE_CONFIG = `${r.recipeCacheDir}/${site.role}_${site.nodeRank}_${site.instance},false,131072`;
  if (r.incConfig) {
    Object.assign(env, {
      QUANT_CONFIG: r.incConfig,
      VLLM_REQUANT_FP8_INC: "1",
      VLLM_ENABLE_RUNTIME_DEQUANT: "1",
      VLLM_MOE_N_SLICE: "1",
      VLLM_HPU_MARK_SCALES_AS_CONST: "false",
      RUNTIME_SCALE_PATCHING: "1",
    });
  }
  return Object.fromEntries(Object.entries({ ...r.env, ...env }).sort(([a], [b]) => a.localeCompare(b)));
}

// The launcher also passed --disable-log-requests; vLLM 0.21 no longer declares it (request logging is opt-in).
function instanceArgv(
  topology: Topology,
  r: RoleTopology,
  port: number,
  dpRank: number | null,
  dpMaster: { address: string; port: number },
): string[] {
  const argv = [
    topology.vllmCommand,
    "serve",
    topology.model,
    "--port",
    String(port),
    "--long_prefill_token_threshold",
    String(r.longPrefillTokenThreshold),
    "--max_num_batched_tokens",
    String(r.maxNumBatchedTokens),
    "--max-model-len",
    String(r.maxModelLen),
    "--max-num-seqs",
    String(r.maxNumSeqs),
    "--max-cudagraph-capture-size",
    String(r.maxCudagraphCaptureSize),
    "--gpu-memory-utilization",
    String(r.gpuMemoryUtilization),
    "--trust-remote-code",
    "--tensor-parallel-size",
    String(r.tpSize),
    r.prefixCaching ? "--enable-prefix-caching" : "--no-enable-prefix-caching",
  ];
  if (dpRank !== null) {
    argv.push(
      "--data-parallel-size",
      String(r.dpSize),
      "--data-parallel-rank",
      String(dpRank),
      "--data-parallel-address",
      dpMaster.address,
      "--data-parallel-rpc-port",
      String(dpMaster.port),
    );
  }
  if (r.enforceEager) argv.push("--enforce-eager");
  if (r.asyncScheduling) argv.push("--async-scheduling");
  if (r.expertParallel) argv.push("--enable-expert-parallel");
  if (r.incConfig) argv.push("--kv_cache_dtype", "fp8_inc");
  argv.push("--kv-transfer-config", kvTransferConfig(r));
  return argv;
}

function planInstance(topology: Topology, site: InstanceSite): InstancePlan {
  const r = topology[site.role];
  const { port, sideChannelEnvPort, dpMasterPort } = instancePorts(topology, site.role, site.nodeRank, site.instance);
  const dpRank = dpRankOf(r, site.nodeRank, site.instance);
  const modules = hpuModulesOf(topology, site.role, site.instance);
  const sideChannelPorts = sideChannelPortsOf(r, sideChannelEnvPort, dpRank);
  return {
    role: site.role,
    node: site.node,
    nodeRank: site.nodeRank,
    instance: site.instance,
    dpRank,
    port,
    sideChannelPort: sideChannelPorts[0],
    sideChannelPorts,
    dpMasterAddress: dpRank === null ? null : site.dpMasterAddress,
    dpMasterPort: dpRank === null ? null : dpMasterPort,
    hpuModules: modules,
    env: instanceEnv(topology, r, site, sideChannelEnvPort, modules),
    argv: instanceArgv(topology, r, port, dpRank, { address: site.dpMasterAddress, port: dpMasterPort }),
    logName: `${site.role}_${site.instance}`,
  };
}

/** The vllm-router command line (docs/architecture.md#router): one --prefill / --decode URL per instance; Prometheus on the
 *  router host's address (vllm-router's default, 127.0.0.1, is out of every scraper's reach) unless router.metricsBindAddress says otherwise. */
export function routerArgv(topology: Topology, routerAddress: string, prefillUrls: readonly string[], decodeUrls: readonly string[]): string[] {
  const rt = topology.router;
  return [
    "vllm-router",
    "--vllm-pd-disaggregation",
    "--host",
    rt.bindAddress,
    "--port",
    String(rt.port),
    "--prometheus-host",
    rt.metricsBindAddress ?? routerAddress,
    "--prometheus-port",
    String(rt.metricsPort),
    "--prefill-policy",
    rt.prefillPolicy,
    "--decode-policy",
    rt.decodePolicy,
    "--worker-startup-timeout-secs",
    String(rt.workerStartupTimeoutSecs),
    // The default (30 s) makes one early probe of a not-yet-healthy worker cost half a minute.
    "--worker-startup-check-interval",
    "1",
    ...prefillUrls.flatMap((u) => ["--prefill", u]),
    ...decodeUrls.flatMap((u) => ["--decode", u]),
  ];
}

/** A listening port and who holds it, for collision and range checks. */
export interface Listener {
  readonly host: string;
  readonly port: number;
  readonly owner: string;
  /** The owner without its instance index (`prefill-0 prefill instances (serve)`): out-of-range ports are reported per group. */
  readonly group: string;
  /** The role whose `nixl.sideChannelLayout` a collision of this port should name (perTpWorker side channels). */
  readonly layoutOf?: Role;
}

/** The ports one instance listens on: serve, its side channel(s), and the DP master on DP rank 0. */
export function instanceListeners(plan: ClusterPlan, i: InstancePlan, host: string): Listener[] {
  const who = `${i.node} ${i.role} instance ${i.instance}`;
  const group = `${i.node} ${i.role} instances`;
  const r = plan.topology[i.role];
  const perWorker = r.nixl.sideChannelLayout === "perTpWorker" && r.tpSize > 1;
  const out: Listener[] = [{ host, port: i.port, owner: `${who} (serve)`, group: `${group} (serve)` }];
  i.sideChannelPorts.forEach((port, k) => {
    const what = `(NIXL side channel${perWorker ? ` tp ${k}` : ""})`;
    out.push({ host, port, owner: `${who} ${what}`, group: `${group} ${what}`, ...(perWorker ? { layoutOf: i.role } : {}) });
  });
  if (i.dpRank === 0 && i.dpMasterPort !== null)
    out.push({ host, port: i.dpMasterPort, owner: `${i.node} ${i.role} DP master`, group: `${i.node} ${i.role} DP master` });
  return out;
}

/** Every port the plan listens on, keyed by the host that runs it (`hostOf` maps a node name to a host). */
export function listenersOf(plan: ClusterPlan, hostOf: (node: string) => string = (n) => n): Listener[] {
  const out = plan.instances.flatMap((i) => instanceListeners(plan, i, hostOf(i.node)));
  out.push({ host: hostOf(plan.router.node), port: plan.router.port, owner: "router", group: "router" });
  out.push({ host: hostOf(plan.router.node), port: plan.topology.router.metricsPort, owner: "router metrics", group: "router metrics" });
  return out;
}

/** What to change when a perTpWorker side channel collides: the layout, or DP so each instance's ports are spread. */
function layoutHint(plan: ClusterPlan, role: Role): string {
  const r = plan.topology[role];
  const dp =
    r.dpSize > 1
      ? ""
      : `, or use data parallelism (dpSize ${r.instancesPerNode * r.nodes}: each instance's ports then start at its DP rank × tpSize)`;
  return `perTpWorker binds one side-channel port per TP worker; set perEngine if the vllm-gaudi build opens one listener per engine (current builds)${dp}`;
}

/** Every pair of listeners that share a host port, and every port out of 1024-65535. A collision of a perTpWorker side
 *  channel is reported at the field that decides it. */
export function portProblems(listeners: readonly Listener[], plan: ClusterPlan): Problem[] {
  const problems: Problem[] = [];
  const outside = new Map<string, number[]>();
  for (const l of listeners.filter((x) => x.port < 1024 || x.port > 65535)) outside.set(l.group, [...(outside.get(l.group) ?? []), l.port]);
  for (const [kind, ports] of outside)
    problems.push(
      problem("ports", `${kind} would listen on ${ports.length > 1 ? `${Math.min(...ports)}-${Math.max(...ports)}` : ports[0]}, outside 1024-65535`),
    );
  const seen = new Map<string, Listener>();
  for (const l of listeners) {
    const key = `${l.host}:${l.port}`;
    const first = seen.get(key);
    if (!first) {
      seen.set(key, l);
      continue;
    }
    const role = l.layoutOf ?? first.layoutOf;
    const clash = `${l.host} port ${l.port} is used by both ${first.owner} and ${l.owner}`;
    problems.push(role ? problem(`${role}.nixl.sideChannelLayout`, `${clash}; ${layoutHint(plan, role)}`) : problem("ports", clash));
  }
  return problems;
}

/** Extra env may add variables but not replace what the plan derives, nor carry the HF token in plain text. */
function envProblems(topology: Topology): Problem[] {
  const problems: Problem[] = [];
  for (const role of ROLES) {
    const r = topology[role];
    const site: InstanceSite = { role, node: "", nodeRank: 0, instance: 0, sideChannelHost: "", dpMasterAddress: "" };
    const owned = new Set(Object.keys(instanceEnv(topology, { ...r, env: {} }, site, 0, [])));
    for (const key of Object.keys(r.env)) {
      if (key === "HF_TOKEN" || key === "HUGGING_FACE_HUB_TOKEN")
        problems.push(problem(`${role}.env.${key}`, `put the token in the secret config gaudi-pd:hfToken, not in plain env`));
      else if (owned.has(key))
        problems.push(problem(`${role}.env.${key}`, "is derived by gaudi-pd from the topology; set the matching topology field instead"));
    }
  }
  return problems;
}

/** Addresses bound by a caller (hosts, launch flags) reach scripts and argv: they must be addresses. */
function addressProblems(options: PlanOptions): Problem[] {
  const given: Array<[string, string]> = [
    ...Object.entries(options.addresses ?? {}).map(([node, a]): [string, string] => [`addresses.${node}`, a]),
    ...Object.entries(options.dpMaster ?? {}).map(([role, a]): [string, string] => [`dpMaster.${role}`, a ?? ""]),
  ];
  return given
    .filter(([, a]) => !isHostAddress(a))
    .map(([at, a]) => problem(at, `must be an IPv4 or IPv6 address or a DNS name, got ${shownValue(a)}`));
}

function capacityProblems(topology: Topology): Problem[] {
  const need = (r: RoleTopology) => r.instancesPerNode * r.tpSize;
  const cap = `the ${topology.hpusPerNode} HPUs of a node (infra.hpusPerNode)`;
  if (topology.colocate) {
    const total = need(topology.prefill) + need(topology.decode);
    return total > topology.hpusPerNode
      ? [
          problem(
            "colocate",
            `prefill (${need(topology.prefill)}) and decode (${need(topology.decode)}) need ${total} HPUs per node, more than ${cap}`,
          ),
        ]
      : [];
  }
  return ROLES.filter((role) => need(topology[role]) > topology.hpusPerNode).map((role) =>
    problem(
      `${role}.instancesPerNode`,
      `${topology[role].instancesPerNode} instances × tpSize ${topology[role].tpSize} need ${need(topology[role])} HPUs, more than ${cap}`,
    ),
  );
}

/** The highest port a role's `nodes` nodes listen on: the last node's last instance, whose ports are the largest. */
function highestPort(topology: Topology, role: Role, nodes: number): { port: number; what: string } {
  const r = topology[role];
  const [rank, instance] = [nodes - 1, r.instancesPerNode - 1];
  const ports = instancePorts(topology, role, rank, instance);
  const side = Math.max(...sideChannelPortsOf(r, ports.sideChannelEnvPort, r.dpSize > 1 ? r.instancesPerNode * rank + instance : null));
  return side > ports.port ? { port: side, what: "NIXL side-channel" } : { port: ports.port, what: "serve" };
}

/** The real limit on nodes: every port ≤ 65535 under the node stride. Checked before planning, so a huge count is refused
 *  at once instead of being planned node by node. */
function strideProblems(topology: Topology): Problem[] {
  return ROLES.flatMap((role) => {
    const nodes = topology[role].nodes;
    const top = highestPort(topology, role, nodes);
    if (top.port <= 65535) return [];
    let [fit, over] = [0, nodes];
    while (over - fit > 1) {
      const mid = Math.floor((fit + over) / 2);
      if (highestPort(topology, role, mid).port <= 65535) fit = mid;
      else over = mid;
    }
    // Not even one node fits: the port bases are what to change (a single node's ports are reported by the planner).
    if (fit === 0)
      return nodes === 1 ? [] : [problem("ports", `${role} ${top.what} ports pass 65535 on the first node already; lower the port bases`)];
    const dp = topology[role].dpSize > 1 ? " and each DP rank adds to the side channel" : "";
    return [
      problem(
        `${role}.nodes`,
        `${nodes} puts ${role} ${top.what} ports up to ${top.port}, above 65535 (each node rank adds ${NODE_PORT_STRIDE} to every port${dp}); ` +
          `at most ${fit} fit under these port bases`,
      ),
    ];
  });
}

/** The plan with node (and `router`) addresses bound, planned once for the whole cluster; renderers take its result. */
export function bindAddresses(plan: ClusterPlan, addresses: Readonly<Record<string, string>>): ClusterPlan {
  return planCluster(plan.topology, { ...plan.options, addresses: { ...plan.options.addresses, ...addresses } });
}

/** Plan the whole cluster, refusing (ConfigError) what cannot run. Deterministic for equal inputs. */
export function planCluster(topology: Topology, options: PlanOptions = {}): ClusterPlan {
  const bad = [...addressProblems(options), ...strideProblems(topology)];
  if (bad.length) throw new ConfigError(bad);
  const addressOf = (name: string) => options.addresses?.[name] ?? placeholderAddress(name);
  const nodeCount = topology.colocate ? topology.prefill.nodes : 0;
  const nodes: NodePlan[] = [];
  const addNode = (rank: number, roles: Role[]) => {
    const name = nodeName(topology, roles[0], rank);
    const instances = roles.flatMap((role) =>
      Array.from({ length: topology[role].instancesPerNode }, (_, instance) =>
        planInstance(topology, {
          role,
          node: name,
          nodeRank: rank,
          instance,
          sideChannelHost: addressOf(name),
          dpMasterAddress: options.dpMaster?.[role] ?? addressOf(nodeName(topology, role, 0)),
        }),
      ),
    );
    nodes.push({ name, rank, roles, address: addressOf(name), hpuModules: instances.flatMap((i) => i.hpuModules), instances });
  };
  if (topology.colocate) for (let rank = 0; rank < nodeCount; rank++) addNode(rank, [...ROLES]);
  else for (const role of ROLES) for (let rank = 0; rank < topology[role].nodes; rank++) addNode(rank, [role]);

  const instances = nodes.flatMap((n) => n.instances);
  const urls = (role: Role) => instances.filter((i) => i.role === role).map((i) => `http://${addressOf(i.node)}:${i.port}`);
  const routerNode = topology.router.placement === "dedicated" ? DEDICATED_ROUTER_NODE : topology.router.placement;
  if (routerNode !== DEDICATED_ROUTER_NODE && !nodes.some((n) => n.name === routerNode))
    throw new ConfigError([problem("router.placement", `no node named ${routerNode} (nodes: ${nodes.map((n) => n.name).join(", ")})`)]);
  const [prefillUrls, decodeUrls] = [urls("prefill"), urls("decode")];
  const plan: ClusterPlan = {
    topology,
    options,
    nodes,
    instances,
    router: {
      node: routerNode,
      address: addressOf(routerNode),
      port: topology.router.port,
      prefillUrls,
      decodeUrls,
      argv: routerArgv(topology, addressOf(routerNode), prefillUrls, decodeUrls),
    },
  };
  // Existing hosts that share a machine (a dedicated router on a node's machine) share its ports.
  const machine = machinesOf(topology);
  const refused = [
    ...envProblems(topology),
    ...capacityProblems(topology),
    ...portProblems(
      listenersOf(plan, (n) => machine[n] ?? n),
      plan,
    ),
  ];
  if (refused.length) throw new ConfigError(refused);
  return plan;
}
