// `vllm serve MODEL [flags]` / `vllm --version`: a strict stand-in for one vLLM API server on Gaudi.
// Startup follows vLLM's order: refuse bad flags, claim the port and the HPU modules, bring the engine up (NIXL side
// channel, DP group), and only then serve HTTP.
import * as net from "node:net";
import { createApiServer } from "./apiServer";
import { type DpGroup, joinDpGroup } from "./dpGroup";
import { type Faults, faultsFor } from "./faults";
import { cachedSnapshot, hubCacheDir, isOffline } from "./hfCache";
import { acquireModules } from "./hpuModules";
import { die, log } from "./log";
import { parseServeArgs, ServeArgError } from "./parseServeArgs";
import { type ServeConfig, ServeConfigError, serveConfigOf } from "./serveConfig";
import { listenSideChannel, PrefilledBlocks } from "./sideChannel";
import { VLLM_VERSION } from "./vllmServeFlags";

const USAGE = "usage: vllm serve [model_tag] [options] | vllm --version";

/** Everything to shut on exit, however the process ends (listeners, HPU module locks). */
const closers: (() => void)[] = [];
process.on("exit", () =>
  closers
    .splice(0)
    .reverse()
    .forEach((close) => close()),
);

function positiveSeconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name] ?? String(fallback);
  if (!/^\d+(\.\d+)?$/.test(raw) || Number(raw) <= 0)
    die("serve", `invalid ${name}`, "ValueError", `${name}: '${raw}' is not a positive number of seconds`);
  return Number(raw) * 1000;
}

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** vLLM binds its API socket before building the engine, so a taken port fails at once. */
async function claimPort(config: ServeConfig): Promise<void> {
  const probe = net.createServer();
  try {
    await listen(probe, config.port, config.host ?? "0.0.0.0");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") die("api_server", `port ${config.port} is already in use`, "OSError", "[Errno 98] Address already in use");
    die("api_server", `cannot bind ${config.host ?? "0.0.0.0"}:${config.port}`, "OSError", String(code ?? (e as Error).message));
  }
  await new Promise((resolve) => probe.close(resolve));
}

function describe(config: ServeConfig, modules: readonly number[]): string {
  const dp = config.dp ? `dp_rank=${config.dp.rank}/${config.dp.size} dp_master=${config.dp.address}:${config.dp.rpcPort}` : "dp=1";
  const kv = config.kv
    ? `${config.kv.role} engine_id=${config.kv.engineId} buffer=${config.kv.bufferDevice} backends=${config.kv.backends.join(",")}`
    : "no kv connector";
  const channel = config.sideChannel ? `side_channel=${config.sideChannel.host}:${config.sideChannel.ports.join(",")}` : "no side channel";
  return `role=${config.id.role} (${kv}) ${dp} tp=${config.tpSize} hpu_modules=[${modules.join(",")}] port=${config.port} ${channel}`;
}

async function serve(argv: readonly string[]): Promise<void> {
  let config: ServeConfig;
  try {
    config = serveConfigOf(parseServeArgs(argv), process.env);
  } catch (e) {
    if (e instanceof ServeArgError) {
      process.stderr.write(`${e.prog}: error: ${e.message}\n`);
      process.exit(2);
    }
    if (e instanceof ServeConfigError) {
      e.problems.forEach((p) => log("ERROR", "config", p));
      die("config", `invalid configuration (${e.problems.length} problem${e.problems.length === 1 ? "" : "s"})`, "ValueError", e.problems[0] ?? "");
    }
    throw e;
  }
  let faults: Faults;
  try {
    faults = faultsFor(process.env, config.port);
  } catch (e) {
    die("faults", "invalid fault knob", "ValueError", (e as Error).message);
  }
  const dpTimeoutMs = positiveSeconds(process.env, "VLLM_SIM_DP_TIMEOUT_S", 600);
  const blocksTtlMs = positiveSeconds(process.env, "VLLM_NIXL_ABORT_REQUEST_TIMEOUT", 480);
  log("INFO", "serve", `vLLM ${VLLM_VERSION} stand-in serving model ${config.model}`);
  // Like vLLM reading the model's config through huggingface_hub: offline, a hub model must already be in the cache.
  if (!config.model.startsWith("/") && isOffline(process.env) && !cachedSnapshot(config.model, process.env)) {
    die(
      "config",
      `model ${config.model} is not in the Hugging Face cache ${hubCacheDir(process.env)} and HF_HUB_OFFLINE is set`,
      "huggingface_hub.errors.LocalEntryNotFoundError",
      "Cannot find the requested files in the disk cache and outgoing traffic has been disabled. " +
        "To enable hf.co look-ups and downloads online, set 'HF_HUB_OFFLINE=0' as environment variable.",
    );
  }

  await claimPort(config);
  let modules: number[];
  try {
    const acquired = acquireModules(process.env, config.visibleModules, config.tpSize);
    closers.push(acquired.release);
    modules = acquired.held;
  } catch (e) {
    die("hpu", "Device acquire failed", "RuntimeError", (e as Error).message);
  }
  log("INFO", "serve", describe(config, modules));

  if (faults.crashAtStartup) {
    die("core", "EngineCore failed to start.", "RuntimeError", `simulated crash at startup (VLLM_SIM_CRASH_AT_STARTUP) on port ${config.port}`);
  }
  if (faults.startupDelayMs > 0) {
    log("INFO", "serve", `loading model weights (VLLM_SIM_STARTUP_DELAY_MS=${faults.startupDelayMs})`);
    // Counted from the process start, as vLLM's startup time is: the stand-in's own start (Node, tsx) is part of it.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, faults.startupDelayMs - process.uptime() * 1000)));
  }

  const blocks = config.kv && config.kv.role !== "kv_consumer" ? new PrefilledBlocks(blocksTtlMs) : null;
  if (config.kv && config.sideChannel) {
    const { host, ports } = config.sideChannel;
    for (const port of ports) {
      try {
        const channel = await listenSideChannel({ host, port, engineId: config.kv.engineId, role: config.kv.role, self: config.id, blocks });
        closers.push(() => channel.close());
      } catch (e) {
        die("nixl", "NIXL handshake listener failed to start", "zmq.error.ZMQError", (e as Error).message);
      }
    }
    log("INFO", "nixl", `NIXL side channel listening on ${host}:${ports.join(",")} (${ports.length > 1 ? "one per TP worker" : "one per engine"})`);
  }

  if (config.dp) {
    let group: DpGroup;
    try {
      group = await joinDpGroup(config.dp, {
        model: config.model,
        timeoutMs: dpTimeoutMs,
        progressMs: 3000,
        onLost: (reason) => {
          die("dp_group", `${reason}: the engine cannot run without its DP group`, "RuntimeError", reason);
        },
      });
    } catch (e) {
      die("dp_group", `DP rank ${config.dp.rank} could not join its DP group`, "RuntimeError", (e as Error).message);
    }
    closers.push(() => group.close());
  }

  let answered = 0;
  const api = createApiServer({
    config,
    blocks,
    skipKvPull: faults.skipKvPull,
    onAnswered: () => {
      answered++;
      if (faults.crashAfterRequests !== null && answered >= faults.crashAfterRequests) {
        die(
          "core",
          "EngineCore encountered a fatal error.",
          "RuntimeError",
          `simulated crash after ${answered} requests (VLLM_SIM_CRASH_AFTER_REQUESTS) on port ${config.port}`,
        );
      }
    },
  });
  try {
    await listen(api, config.port, config.host ?? "0.0.0.0");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    die("api_server", `cannot serve on port ${config.port}`, "OSError", code === "EADDRINUSE" ? "[Errno 98] Address already in use" : String(code));
  }
  closers.push(() => {
    api.close();
    api.closeAllConnections();
  });
  log("INFO", "api_server", `Starting vLLM API server on http://${config.host ?? "0.0.0.0"}:${config.port}`);
  log("INFO", "api_server", "Application startup complete.");
}

function main(argv: readonly string[]): void {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      log("INFO", "serve", `${signal} received, shutting down`);
      process.exit(0);
    });
  }
  const [command, ...rest] = argv;
  if (command === "--version" || command === "-v") {
    process.stdout.write(`${VLLM_VERSION}\n`);
    return;
  }
  if (command !== "serve") {
    process.stderr.write(
      `${USAGE}\nvllm: error: ${command === undefined ? "a subcommand is required" : `the stand-in implements only 'serve', not '${command}'`}\n`,
    );
    process.exit(2);
  }
  serve(rest).catch((e: unknown) => die("serve", "unexpected failure", "RuntimeError", (e as Error).stack ?? String(e)));
}

main(process.argv.slice(2));
