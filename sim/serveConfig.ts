// What one stand-in instance is, from its parsed `vllm serve` options and its environment, checked the way vLLM
// 0.21.0 checks its config (ParallelConfig, KVTransferConfig with extra fields forbidden, NIXL's env and ports).
import { randomUUID } from "node:crypto";
import { hpuCount, visibleModules } from "./hpuModules";
import type { OptionValue, ParsedServeArgs } from "./parseServeArgs";

export type KvRole = "kv_producer" | "kv_consumer" | "kv_both";

/** How an instance identifies itself in its responses and logs. */
export interface InstanceId {
  readonly role: "prefill" | "decode" | "both" | "standalone";
  readonly host: string;
  readonly port: number;
  readonly dpRank: number | null;
}

export interface DpConfig {
  readonly size: number;
  readonly rank: number;
  readonly address: string;
  readonly rpcPort: number;
}

export interface KvConfig {
  readonly role: KvRole;
  readonly engineId: string;
  readonly bufferDevice: string;
  readonly backends: readonly string[];
}

export interface ServeConfig {
  readonly model: string;
  /** Names requests may use (--served-model-name, else the model); responses carry the first. */
  readonly servedModelNames: readonly string[];
  /** Bind address; null binds every IPv4 address, as vLLM does without --host. */
  readonly host: string | null;
  readonly port: number;
  readonly maxModelLen: number;
  readonly tpSize: number;
  readonly visibleModules: readonly number[];
  readonly dp: DpConfig | null;
  readonly kv: KvConfig | null;
  /** The NIXL side channel this instance listens on (only with a kv connector): `port` is the one it advertises
   *  (remote_port), `ports` every port it binds under its layout. */
  readonly sideChannel: { readonly host: string; readonly port: number; readonly ports: readonly number[] } | null;
  readonly id: InstanceId;
}

/** Connectors vLLM 0.21.0 registers (KVConnectorFactory); the stand-in implements only NixlConnector. */
const KNOWN_CONNECTORS = [
  "DecodeBenchConnector",
  "ExampleConnector",
  "ExampleHiddenStatesConnector",
  "FlexKVConnectorV1",
  "HF3FSKVConnector",
  "LMCacheConnectorV1",
  "LMCacheMPConnector",
  "MoRIIOConnector",
  "MooncakeConnector",
  "MooncakeStoreConnector",
  "MultiConnector",
  "NixlConnector",
  "OffloadingConnector",
  "P2pNcclConnector",
  "SimpleCPUOffloadConnector",
];
const KV_ROLES: readonly KvRole[] = ["kv_producer", "kv_consumer", "kv_both"];
/** Buffer devices NIXL accepts on the platforms vLLM runs on (cuda/xpu: cpu or device; Gaudi: cpu or hpu). */
const BUFFER_DEVICES = ["cpu", "hpu", "cuda", "xpu"];
/** NIXL backend plugins. */
const NIXL_BACKENDS = ["UCX", "LIBFABRIC", "GDS", "GDS_MT", "POSIX", "OBJ", "MOONCAKE", "HF3FS", "UCCL", "GPUNETIO"];
/** KVTransferConfig's fields in vLLM 0.21.0 (pydantic forbids any other) and the JSON type each takes. */
const KV_FIELDS: Record<string, (v: unknown) => boolean> = {
  kv_connector: (v) => v === null || typeof v === "string",
  engine_id: (v) => v === null || typeof v === "string",
  kv_buffer_device: (v) => typeof v === "string",
  kv_buffer_size: (v) => typeof v === "number",
  kv_role: (v) => v === null || typeof v === "string",
  kv_rank: (v) => v === null || Number.isInteger(v),
  kv_parallel_size: (v) => Number.isInteger(v),
  kv_ip: (v) => typeof v === "string",
  kv_port: (v) => Number.isInteger(v),
  kv_connector_extra_config: (v) => typeof v === "object" && v !== null && !Array.isArray(v),
  kv_connector_module_path: (v) => v === null || typeof v === "string",
  enable_permute_local_kv: (v) => typeof v === "boolean",
  kv_load_failure_policy: (v) => v === "recompute" || v === "fail",
};

/** Options vLLM declares that the stand-in does not implement: refused rather than silently ignored. */
const UNSUPPORTED = [
  "--headless",
  "--data-parallel-size-local",
  "--data-parallel-start-rank",
  "--data-parallel-hybrid-lb",
  "--config",
  "--uds",
  "--grpc",
  "--pipeline-parallel-size",
];

/** The side-channel layout of the vllm-gaudi build stood in for; gaudi-pd's plan sets it on every instance. */
export const SIDE_CHANNEL_LAYOUT_ENV = "GAUDI_PD_NIXL_SIDE_CHANNEL_LAYOUT";

/** Side-channel ports the build binds. perEngine (vLLM 0.21.0, nixl/scheduler.py): one handshake listener per engine at
 *  VLLM_NIXL_SIDE_CHANNEL_PORT + data_parallel_index. perTpWorker (2025 vllm-gaudi): each TP worker listens at
 *  VLLM_NIXL_SIDE_CHANNEL_PORT + dp_rank × tp_size + tp_rank. */
function sideChannelPorts(layout: string, envPort: number, dpRank: number, tpSize: number): number[] {
  if (layout === "perTpWorker") return Array.from({ length: tpSize }, (_, tpRank) => envPort + dpRank * tpSize + tpRank);
  return [envPort + dpRank];
}

/** Thrown with every problem found, one line each. */
export class ServeConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
  }
}

function str(options: ReadonlyMap<string, OptionValue>, key: string): string | undefined {
  const v = options.get(key);
  return typeof v === "string" ? v : undefined;
}

function int(options: ReadonlyMap<string, OptionValue>, key: string, fallback: number): number {
  const v = str(options, key);
  return v === undefined ? fallback : Number(v.replace(/_/g, ""));
}

/** vLLM's human_readable_int (the parser already checked the shape). */
function humanInt(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)([kmgtKMGT]?)\s*$/.exec(value);
  const multiplier: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
  return m ? Math.round(Number(m[1]) * (multiplier[m[2] ?? ""] ?? 1)) : Number(value);
}

function kvConfigOf(raw: string, dpRank: number | null, problems: string[]): KvConfig | null {
  const at = "--kv-transfer-config";
  const parsed: unknown = JSON.parse(raw);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    problems.push(`${at}: must be a JSON object`);
    return null;
  }
  const cfg = parsed as Record<string, unknown>;
  for (const [field, value] of Object.entries(cfg)) {
    const accepts = KV_FIELDS[field];
    if (!accepts) problems.push(`${at}: unknown field '${field}' (KVTransferConfig forbids extra fields)`);
    else if (!accepts(value)) problems.push(`${at}: field '${field}' has the wrong type: ${JSON.stringify(value)}`);
  }
  const connector = cfg.kv_connector;
  if (connector === undefined || connector === null) return null;
  if (typeof connector === "string" && !KNOWN_CONNECTORS.includes(connector) && typeof cfg.kv_connector_module_path !== "string") {
    problems.push(`${at}: kv_connector '${connector}' is not a connector vLLM registers (${KNOWN_CONNECTORS.join(", ")})`);
  } else if (connector !== "NixlConnector") {
    problems.push(`${at}: kv_connector '${String(connector)}' is valid in vLLM but the stand-in implements only NixlConnector`);
  }
  const role = cfg.kv_role;
  if (role === undefined || role === null) problems.push(`${at}: kv_role is required when kv_connector is set (one of ${KV_ROLES.join(", ")})`);
  else if (!KV_ROLES.includes(role as KvRole)) problems.push(`${at}: kv_role '${String(role)}' is not one of ${KV_ROLES.join(", ")}`);
  const bufferDevice = cfg.kv_buffer_device ?? "hpu";
  if (typeof bufferDevice !== "string" || !BUFFER_DEVICES.includes(bufferDevice)) {
    problems.push(`${at}: kv_buffer_device '${String(bufferDevice)}' is not one of ${BUFFER_DEVICES.join(", ")}`);
  }
  const extra = (cfg.kv_connector_extra_config ?? {}) as Record<string, unknown>;
  const backends = extra.backends ?? ["UCX"];
  if (!Array.isArray(backends) || backends.length === 0) {
    problems.push(`${at}: kv_connector_extra_config.backends must be a non-empty list of NIXL backends (${NIXL_BACKENDS.join(", ")})`);
  } else {
    for (const b of backends) {
      if (typeof b !== "string" || !NIXL_BACKENDS.includes(b)) {
        problems.push(`${at}: kv_connector_extra_config.backends: '${String(b)}' is not a NIXL backend (${NIXL_BACKENDS.join(", ")})`);
      }
    }
  }
  // vLLM gives each DP rank its own engine id: <engine_id>_dp<rank>.
  const baseId = typeof cfg.engine_id === "string" ? cfg.engine_id : randomUUID();
  return {
    role: role as KvRole,
    engineId: dpRank === null ? baseId : `${baseId}_dp${dpRank}`,
    bufferDevice: String(bufferDevice),
    backends: Array.isArray(backends) ? backends.map(String) : [],
  };
}

function dpConfigOf(options: ReadonlyMap<string, OptionValue>, problems: string[]): DpConfig | null {
  const size = int(options, "--data-parallel-size", 1);
  const rankGiven = options.has("--data-parallel-rank");
  const rank = int(options, "--data-parallel-rank", 0);
  const address = str(options, "--data-parallel-address") ?? "127.0.0.1";
  const rpcPort = int(options, "--data-parallel-rpc-port", 29550);
  if (size < 1) problems.push(`--data-parallel-size ${size} must be at least 1`);
  if (rankGiven && (rank < 0 || rank >= size)) problems.push(`--data-parallel-rank ${rank} must be in 0..${size - 1} (--data-parallel-size ${size})`);
  if (size <= 1) {
    for (const flag of ["--data-parallel-address", "--data-parallel-rpc-port"]) {
      if (options.has(flag)) problems.push(`${flag} is given but --data-parallel-size is ${size}: there is no DP group to join`);
    }
    return null;
  }
  if (!rankGiven)
    problems.push(`--data-parallel-size ${size} without --data-parallel-rank: the stand-in runs one process per DP rank (external load balancing)`);
  if (rpcPort < 1 || rpcPort > 65535) problems.push(`--data-parallel-rpc-port ${rpcPort} is not a TCP port`);
  if (address.trim() === "") problems.push(`--data-parallel-address is empty`);
  return { size, rank, address, rpcPort };
}

const ROLE_OF: Record<KvRole, InstanceId["role"]> = { kv_producer: "prefill", kv_consumer: "decode", kv_both: "both" };

/** Build and check an instance's config; throws ServeConfigError listing every problem. */
export function serveConfigOf(args: ParsedServeArgs, env: NodeJS.ProcessEnv): ServeConfig {
  const { options } = args;
  const problems: string[] = [];
  for (const flag of UNSUPPORTED) {
    if (options.has(flag) && !(flag === "--pipeline-parallel-size" && str(options, flag) === "1")) {
      problems.push(`${flag}: declared by vLLM but not implemented by the stand-in`);
    }
  }
  if (int(options, "--api-server-count", 1) !== 1) problems.push(`--api-server-count: only 1 API server per instance is implemented by the stand-in`);
  const port = int(options, "--port", 8000);
  if (port < 1 || port > 65535) problems.push(`--port ${port} is not a TCP port`);
  const tpSize = int(options, "--tensor-parallel-size", 1);
  if (tpSize < 1) problems.push(`--tensor-parallel-size ${tpSize} must be at least 1`);
  const maxLenRaw = str(options, "--max-model-len");
  const maxModelLen = maxLenRaw === undefined || maxLenRaw.trim().toLowerCase() === "auto" || maxLenRaw.trim() === "-1" ? 8192 : humanInt(maxLenRaw);
  if (maxModelLen < 1) problems.push(`--max-model-len ${maxModelLen} must be positive`);

  let modules: number[] = [];
  try {
    const visible = visibleModules(env, hpuCount(env));
    problems.push(...visible.problems);
    modules = visible.modules;
    const where =
      env.HABANA_VISIBLE_MODULES === undefined
        ? `the ${modules.length} modules of this host (VLLM_SIM_HPU_COUNT)`
        : `the ${modules.length} modules in HABANA_VISIBLE_MODULES`;
    if (visible.problems.length === 0 && tpSize > modules.length) problems.push(`--tensor-parallel-size ${tpSize} exceeds ${where}`);
  } catch (e) {
    problems.push((e as Error).message);
  }

  const dp = dpConfigOf(options, problems);
  const kvRaw = str(options, "--kv-transfer-config");
  const kv = kvRaw === undefined ? null : kvConfigOf(kvRaw, dp?.rank ?? null, problems);

  const channelHost = env.VLLM_NIXL_SIDE_CHANNEL_HOST ?? "localhost";
  const channelPortRaw = env.VLLM_NIXL_SIDE_CHANNEL_PORT ?? "5600";
  if (!/^\d+$/.test(channelPortRaw)) problems.push(`VLLM_NIXL_SIDE_CHANNEL_PORT: '${channelPortRaw}' is not a port number`);
  const layout = env[SIDE_CHANNEL_LAYOUT_ENV] ?? "perEngine";
  if (layout !== "perEngine" && layout !== "perTpWorker") problems.push(`${SIDE_CHANNEL_LAYOUT_ENV}: '${layout}' is not perEngine or perTpWorker`);
  const channelPorts = sideChannelPorts(layout, Number(channelPortRaw), dp?.rank ?? 0, Math.max(tpSize, 1));
  const outside = channelPorts.filter((p) => p < 1 || p > 65535);
  if (kv !== null && outside.length)
    problems.push(`NIXL side channel port ${outside[0]} (${layout} from VLLM_NIXL_SIDE_CHANNEL_PORT) is not a TCP port`);

  if (problems.length > 0) throw new ServeConfigError(problems);
  const host = str(options, "--host") ?? null;
  const served = options.get("--served-model-name");
  return {
    model: args.model,
    servedModelNames: Array.isArray(served) && served.length > 0 ? served : [args.model],
    host,
    port,
    maxModelLen,
    tpSize,
    visibleModules: modules,
    dp,
    kv,
    sideChannel: kv === null ? null : { host: channelHost, port: channelPorts[0], ports: channelPorts },
    id: {
      role: kv === null ? "standalone" : ROLE_OF[kv.role],
      host: host !== null && host !== "0.0.0.0" && host !== "::" ? host : channelHost,
      port,
      dpRank: dp?.rank ?? null,
    },
  };
}
