// The seed launcher's flags (and the fuller launcher's), mapped onto a one-role topology and a launch target.
import * as os from "node:os";
import * as path from "node:path";
import { isHostAddress } from "../components/fieldTypes";
import { Problem, shownValue } from "../components/problems";
import { SECRET_PLACEHOLDER } from "../components/stackConfig";
import { parseTopology, Role } from "../components/topology";
import { FlagSpec, flagValue, numeric, ParsedFlags } from "./flags";

/** The schema's defaults (the topology of an empty config): help states them, never restates them. */
const D = parseTopology({});

export const LAUNCH_FLAGS: readonly FlagSpec[] = [
  { name: "--help", short: "-h", help: "Show this help message" },
  { name: "--model", short: "-m", value: "MODEL", help: `Model to serve (default: ${D.model})` },
  { name: "--role", short: "-r", value: "ROLE", help: "Server role - prefill or decode (default: prefill)" },
  { name: "--num-instances", short: "-n", value: "NUM", help: `Number of local instances (default: ${D.prefill.instancesPerNode})` },
  { name: "--tp-size", short: "-t", value: "SIZE", help: `Tensor parallel size (default: ${D.prefill.tpSize})` },
  { name: "--dp-size", short: "-d", value: "SIZE", help: `Data parallel size: 1 or num-instances x node-size (default: ${D.prefill.dpSize})` },
  { name: "--base-port", value: "PORT", help: `Base port for servers (default: ${D.ports.base})` },
  { name: "--base-channel-port", value: "PORT", help: `Base channel port (default: ${D.ports.channelBase})` },
  { name: "--node-ip", value: "IP", help: "IP address of this node (default: localhost)" },
  { name: "--dp-master-ip", value: "IP", help: "Data parallel master IP (default: localhost)" },
  { name: "--dp-master-port", value: "PORT", help: `Data parallel master port (default: ${D.ports.dpMaster})` },
  { name: "--node-size", value: "SIZE", help: `Total number of nodes for this role's data parallel group (default: ${D.prefill.nodes})` },
  { name: "--node-rank", value: "RANK", help: "Data parallel node rank within this role's group (default: 0)" },
  { name: "--nixl-buffer-device", value: "DEVICE", help: `Buffer device - cpu or hpu (default: ${D.prefill.nixl.bufferDevice})` },
  { name: "--nixl-backend", value: "BACKEND", help: `NIXL backend - UCX or LIBFABRIC (default: ${D.prefill.nixl.backend})` },
  { name: "--ucx-tls", value: "TLS", help: `UCX transport layer (default: ${D.prefill.nixl.ucxTls})` },
  {
    name: "--nixl-side-channel-layout",
    value: "LAYOUT",
    help: `Side-channel ports vLLM binds - perEngine or perTpWorker (2025 builds) (default: ${D.prefill.nixl.sideChannelLayout})`,
  },
  { name: "--max-model-len", value: "LENGTH", help: `Maximum model length (default: ${D.prefill.maxModelLen})` },
  { name: "--max-num-batched-tokens", value: "TOKENS", help: `Maximum batched tokens (default: ${D.prefill.maxNumBatchedTokens})` },
  { name: "--max-num-seqs", value: "SEQS", help: `Maximum number of sequences (default: ${D.prefill.maxNumSeqs})` },
  { name: "--max-cudagraph-capture-size", value: "SIZE", help: `Maximum graph capture size (default: ${D.prefill.maxCudagraphCaptureSize})` },
  { name: "--gpu-memory-utilization", value: "RATIO", help: `Device memory utilization ratio (default: ${D.prefill.gpuMemoryUtilization})` },
  { name: "--enforce-eager", help: "Enable eager execution mode" },
  { name: "--apc", help: "Enable prefix caching (default: --no-enable-prefix-caching)" },
  { name: "--async", help: "Async scheduling (decode role only)" },
  { name: "--warmup", help: "Run warmup (default: VLLM_SKIP_WARMUP=True)" },
  { name: "--no-ep", help: "Disable expert parallelism" },
  { name: "--inc", value: "FILE", help: "INC fp8 quantization config (QUANT_CONFIG, --kv_cache_dtype fp8_inc)" },
  { name: "--recipe-cache", value: "DIR", help: "HPU recipe cache directory" },
  { name: "--profile", help: "Enable HPU and torch profiling" },
  { name: "--debug", help: "Debug logging (VLLM_LOGGING_LEVEL=DEBUG)" },
  { name: "--log-dir", value: "DIR", help: "Directory for server logs (default: .)" },
  { name: "--state-dir", value: "DIR", help: "Scripts, env files and pid files of this node (default: LOG_DIR/.gaudi-pd)" },
  { name: "--dry-run", help: "Print the commands instead of starting them" },
  { name: "--json", help: "With --dry-run: print the instances as JSON" },
  { name: "--stop", help: "Stop the instances this command started on this node" },
];

/** Topology field → the flag that sets it, to name flags (not fields) in error lines. */
export const FIELD_FLAGS: ReadonlyArray<[string, string]> = [
  ["ports.channelBase", "--base-channel-port"],
  ["ports.dpMaster", "--dp-master-port"],
  ["ports.base", "--base-port"],
  ["nixl.bufferDevice", "--nixl-buffer-device"],
  ["nixl.backend", "--nixl-backend"],
  ["nixl.ucxTls", "--ucx-tls"],
  ["nixl.sideChannelLayout", "--nixl-side-channel-layout"],
  ["instancesPerNode", "--num-instances"],
  ["nodes", "--node-size"],
  ["tpSize", "--tp-size"],
  ["dpSize", "--dp-size"],
  ["maxModelLen", "--max-model-len"],
  ["maxNumBatchedTokens", "--max-num-batched-tokens"],
  ["maxNumSeqs", "--max-num-seqs"],
  ["maxCudagraphCaptureSize", "--max-cudagraph-capture-size"],
  ["gpuMemoryUtilization", "--gpu-memory-utilization"],
  ["incConfig", "--inc"],
  ["recipeCacheDir", "--recipe-cache"],
  ["asyncScheduling", "--async"],
  ["logDir", "--log-dir"],
  ["stateDir", "--state-dir"],
  ["model", "--model"],
  ["infra.hpusPerNode", "HPUs per node"],
];

const PORT_FLAGS = "--base-port/--base-channel-port/--dp-master-port";

/** The flag that sets a topology path (`decode.dpSize` → `--dp-size`), or the path when no flag does. */
export function flagOfPath(path: string, role: Role): string {
  if (path === "ports") return PORT_FLAGS;
  const field = path.startsWith(`${role}.`) ? path.slice(role.length + 1) : path;
  return FIELD_FLAGS.find(([f]) => f === field)?.[1] ?? field;
}

/** A topology problem as a launch error line: its path as the flag, the fields its message names as flags. */
export function inFlagTerms(p: Problem, role: Role): string {
  let message = p.message;
  for (const [field, flag] of FIELD_FLAGS) message = message.replace(new RegExp(`(^|[\\s(])${field.replace(".", "\\.")}\\b`, "g"), `$1${flag}`);
  return `${flagOfPath(p.path, role)}: ${message}`;
}

/** Where this launch runs: the role, this node's rank and address, the DP master's address. */
export interface LaunchTarget {
  readonly role: Role;
  readonly nodeRank: number;
  readonly nodeSize: number;
  readonly nodeIp: string;
  readonly dpMasterIp: string;
}

/** The launch target, the raw one-role topology the flags describe, and the problems found in the target flags. */
export function launchFromFlags(flags: ParsedFlags): { target: LaunchTarget; raw: Record<string, unknown>; problems: string[] } {
  const problems: string[] = [];
  const givenRole = flagValue(flags, "--role") ?? "prefill";
  // A bad role is this one problem; planning goes on as prefill so it adds no second line about the config.
  const role: Role = givenRole === "decode" ? "decode" : "prefill";
  if (givenRole !== "prefill" && givenRole !== "decode") problems.push(`--role: must be prefill or decode, got ${shownValue(givenRole)}`);
  const intFlag = (name: string, dflt: number, min: number) => {
    const v = flagValue(flags, name);
    if (v === undefined) return dflt;
    if (!/^-?\d+$/.test(v) || Number(v) < min) problems.push(`${name}: must be an integer of at least ${min}, got ${shownValue(v)}`);
    return Number(v);
  };
  const nodeSize = intFlag("--node-size", 1, 1);
  const nodeRank = intFlag("--node-rank", 0, 0);
  if (Number.isInteger(nodeRank) && Number.isInteger(nodeSize) && nodeRank >= nodeSize && nodeRank >= 0)
    problems.push(`--node-rank: must be less than --node-size (${nodeSize}), got ${nodeRank}`);
  // A refused address is reported here once; planning goes on with the default so the other problems show too.
  const address = (flag: string) => {
    const v = flagValue(flags, flag) ?? "localhost";
    if (isHostAddress(v)) return v;
    problems.push(`${flag}: must be an IPv4 or IPv6 address or a DNS name, got ${shownValue(v)}`);
    return "localhost";
  };
  const nodeIp = address("--node-ip");
  const dpMasterIp = address("--dp-master-ip");
  if (flags.has("--async") && role !== "decode") problems.push("--async: async scheduling is for --role decode only");
  if (flags.has("--json") && !flags.has("--dry-run")) problems.push("--json: only with --dry-run");

  const nixl = {
    bufferDevice: flagValue(flags, "--nixl-buffer-device"),
    backend: flagValue(flags, "--nixl-backend"),
    ucxTls: flagValue(flags, "--ucx-tls"),
    sideChannelLayout: flagValue(flags, "--nixl-side-channel-layout"),
  };
  const roleBlock = {
    nodes: nodeSize,
    instancesPerNode: numeric(flagValue(flags, "--num-instances")),
    tpSize: numeric(flagValue(flags, "--tp-size")),
    dpSize: numeric(flagValue(flags, "--dp-size")),
    asyncScheduling: flags.has("--async") || undefined,
    maxModelLen: numeric(flagValue(flags, "--max-model-len")),
    maxNumBatchedTokens: numeric(flagValue(flags, "--max-num-batched-tokens")),
    maxNumSeqs: numeric(flagValue(flags, "--max-num-seqs")),
    maxCudagraphCaptureSize: numeric(flagValue(flags, "--max-cudagraph-capture-size")),
    gpuMemoryUtilization: numeric(flagValue(flags, "--gpu-memory-utilization")),
    enforceEager: flags.has("--enforce-eager") || undefined,
    prefixCaching: flags.has("--apc") || undefined,
    warmup: flags.has("--warmup") || undefined,
    expertParallel: flags.has("--no-ep") ? false : undefined,
    profile: flags.has("--profile") || undefined,
    debug: flags.has("--debug") || undefined,
    incConfig: flagValue(flags, "--inc"),
    recipeCacheDir: flagValue(flags, "--recipe-cache"),
    nixl,
  };
  const logDir = path.resolve(flagValue(flags, "--log-dir") ?? ".");
  const raw = {
    model: flagValue(flags, "--model"),
    ports: {
      base: numeric(flagValue(flags, "--base-port")),
      channelBase: numeric(flagValue(flags, "--base-channel-port")),
      dpMaster: numeric(flagValue(flags, "--dp-master-port")),
    },
    logDir,
    stateDir: path.resolve(flagValue(flags, "--state-dir") ?? path.join(logDir, ".gaudi-pd")),
    // The caller's own Hugging Face cache, as vLLM run by hand would use it.
    hfCacheDir: path.resolve(process.env.HF_HOME || path.join(os.homedir(), ".cache", "huggingface")),
    // The seed hands HF_TOKEN down from the environment; here it goes to a 0600 file, never into the script.
    hfToken: process.env.HF_TOKEN ? SECRET_PLACEHOLDER : undefined,
    [role]: roleBlock,
  };
  return { target: { role, nodeRank, nodeSize, nodeIp, dpMasterIp }, raw: dropUndefined(raw) as Record<string, unknown>, problems };
}

/** Remove unset fields so the schema's defaults apply. */
function dropUndefined(v: unknown): unknown {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => [k, dropUndefined(x)]),
  );
}
