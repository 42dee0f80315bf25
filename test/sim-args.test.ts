// The stand-in accepts exactly vLLM 0.21.0's `vllm serve` command lines and refuses the rest, naming the flag or field.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseServeArgs, ServeArgError } from "../sim/parseServeArgs";
import { serveConfigOf, ServeConfigError, SIDE_CHANNEL_LAYOUT_ENV } from "../sim/serveConfig";
import { SIDE_CHANNEL_LAYOUT_ENV as PLAN_LAYOUT_ENV } from "../components/plan";
import { kvConfig as NIXL } from "./helpers/kvConfig";

function argError(argv: string[]): string {
  try {
    parseServeArgs(argv);
  } catch (e) {
    if (e instanceof ServeArgError) return `${e.prog}: error: ${e.message}`;
    throw e;
  }
  assert.fail(`accepted: ${argv.join(" ")}`);
}

function configProblems(argv: string[], env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    serveConfigOf(parseServeArgs(argv), env);
  } catch (e) {
    if (e instanceof ServeConfigError) return e.problems;
    throw e;
  }
  assert.fail(`accepted: ${argv.join(" ")}`);
}

test("the launcher's command line shape parses: underscore spellings, booleans, --no- forms, JSON", () => {
  const { model, options } = parseServeArgs([
    "ibm-research/PowerMoE-3b",
    "--port",
    "8300",
    "--long_prefill_token_threshold",
    "8192",
    "--max_num_batched_tokens",
    "8192",
    "--max-model-len",
    "8192",
    "--max-num-seqs",
    "256",
    "--max-cudagraph-capture-size",
    "4096",
    "--gpu-memory-utilization",
    "0.75",
    "--trust-remote-code",
    "--no-enable-prefix-caching",
    "--enable-expert-parallel",
    "--async-scheduling",
    "--kv_cache_dtype",
    "fp8_inc",
    "--tensor-parallel-size",
    "2",
    "--data-parallel-size",
    "4",
    "--data-parallel-rank",
    "3",
    "--data-parallel-address",
    "10.0.0.1",
    "--data-parallel-rpc-port=6300",
    "--kv-transfer-config",
    NIXL({}),
    "--enforce-eager",
  ]);
  assert.equal(model, "ibm-research/PowerMoE-3b");
  assert.equal(options.get("--max-num-batched-tokens"), "8192");
  assert.equal(options.get("--long-prefill-token-threshold"), "8192");
  assert.equal(options.get("--enable-prefix-caching"), false);
  assert.equal(options.get("--trust-remote-code"), true);
  assert.equal(options.get("--kv-cache-dtype"), "fp8_inc");
  assert.equal(options.get("--data-parallel-rpc-port"), "6300");
  assert.equal(parseServeArgs(["m", "-O3"]).options.get("--optimization-level"), "3", "vLLM's -O shorthand");
  const config = serveConfigOf({ model, options }, { VLLM_NIXL_SIDE_CHANNEL_HOST: "10.0.0.1", VLLM_NIXL_SIDE_CHANNEL_PORT: "4300" });
  assert.deepEqual(config.dp, { size: 4, rank: 3, address: "10.0.0.1", rpcPort: 6300 });
  assert.deepEqual(config.sideChannel, { host: "10.0.0.1", port: 4303, ports: [4303] }, "vLLM binds VLLM_NIXL_SIDE_CHANNEL_PORT + DP rank");
  const perWorker = serveConfigOf({ model, options }, { VLLM_NIXL_SIDE_CHANNEL_PORT: "4300", [SIDE_CHANNEL_LAYOUT_ENV]: "perTpWorker" });
  assert.deepEqual(perWorker.sideChannel?.ports, [4306, 4307], "2025 builds: each TP worker at env + dpRank × tpSize + tpRank");
  assert.equal(SIDE_CHANNEL_LAYOUT_ENV, PLAN_LAYOUT_ENV, "the stand-in reads the variable the plan sets");
  assert.throws(() => serveConfigOf({ model, options }, { [SIDE_CHANNEL_LAYOUT_ENV]: "perHost" }), /'perHost' is not perEngine or perTpWorker/);
  assert.equal(config.id.role, "prefill");
  assert.match(config.kv?.engineId ?? "", /_dp3$/);
});

test("no prefix abbreviations: --data-parallel-addr is refused (vLLM's argparse would expand it)", () => {
  assert.equal(
    argError(["m", "--data-parallel-addr", "10.0.0.1"]),
    "vllm: error: unrecognized arguments: --data-parallel-addr (and 1 value not shown)",
  );
  assert.equal(argError(["m", "--made-up-flag"]), "vllm: error: unrecognized arguments: --made-up-flag");
  assert.equal(argError(["m", "--disable-log-requests"]), "vllm: error: unrecognized arguments: --disable-log-requests", "removed in vLLM 0.12");
});

test("values are checked like argparse: ints, choices, explicit values on booleans, missing values", () => {
  assert.equal(argError(["m", "--port", "83OO"]), "vllm serve: error: argument --port: invalid int value: '83OO'");
  assert.equal(
    argError(["m", "--max-num-batched-tokens=8.5K"]),
    "vllm serve: error: argument --max-num-batched-tokens: invalid human_readable_int value: '8.5K'",
  );
  assert.equal(parseServeArgs(["m", "--max-num-batched-tokens=8k"]).options.get("--max-num-batched-tokens"), "8k");
  assert.match(
    argError(["m", "--kv-cache-dtype", "fp7"]),
    /^vllm serve: error: argument --kv-cache-dtype: invalid choice: 'fp7' \(choose from 'auto', /,
  );
  assert.equal(
    argError(["m", "--enforce-eager=true"]),
    "vllm serve: error: argument --enforce-eager/--no-enforce-eager: ignored explicit argument 'true'",
  );
  assert.equal(argError(["m", "--max-model-len", "--enforce-eager"]), "vllm serve: error: argument --max-model-len: expected one argument");
  assert.equal(
    argError(["m", "--kv-transfer-config", "{kv_role: 1}"]),
    "vllm serve: error: argument --kv-transfer-config: invalid JSON value: '{kv_role: 1}'",
  );
});

test("secrets given to a flag are never echoed in an error", () => {
  assert.equal(argError(["m", "--hf-tokn", "hf_secret"]), "vllm: error: unrecognized arguments: --hf-tokn (and 1 value not shown)");
});

test("kv-transfer-config: every bad field is named", () => {
  const problems = configProblems([
    "m",
    "--kv-transfer-config",
    NIXL({ kv_role: "kv_prefill", kv_buffer_device: "gpu", kv_rol: 1, kv_connector_extra_config: { backends: ["UCX", "TCP"] } }),
  ]);
  assert.deepEqual(
    problems.map((p) => p.split(" ").slice(0, 3).join(" ")),
    [
      "--kv-transfer-config: unknown field",
      "--kv-transfer-config: kv_role 'kv_prefill'",
      "--kv-transfer-config: kv_buffer_device 'gpu'",
      "--kv-transfer-config: kv_connector_extra_config.backends: 'TCP'",
    ],
  );
  assert.match(
    configProblems(["m", "--kv-transfer-config", NIXL({ kv_connector: "NixlConnectr" })])[0] ?? "",
    /kv_connector 'NixlConnectr' is not a connector vLLM registers/,
  );
  assert.match(configProblems(["m", "--kv-transfer-config", NIXL({ kv_role: undefined })])[0] ?? "", /kv_role is required/);
});

test("data parallel flags must make sense together", () => {
  assert.deepEqual(configProblems(["m", "--data-parallel-size", "4", "--data-parallel-rank", "4"]), [
    "--data-parallel-rank 4 must be in 0..3 (--data-parallel-size 4)",
  ]);
  assert.deepEqual(configProblems(["m", "--data-parallel-address", "10.0.0.1"]), [
    "--data-parallel-address is given but --data-parallel-size is 1: there is no DP group to join",
  ]);
  assert.match(configProblems(["m", "--data-parallel-size", "2"])[0] ?? "", /without --data-parallel-rank/);
});

test("tensor parallelism must fit the visible HPU modules, which must be distinct and exist", () => {
  assert.deepEqual(configProblems(["m", "-tp", "4"], { HABANA_VISIBLE_MODULES: "2,3" }), [
    "--tensor-parallel-size 4 exceeds the 2 modules in HABANA_VISIBLE_MODULES",
  ]);
  assert.deepEqual(configProblems(["m"], { HABANA_VISIBLE_MODULES: "1,1" }), ["HABANA_VISIBLE_MODULES: module 1 is listed twice"]);
  assert.deepEqual(configProblems(["m"], { HABANA_VISIBLE_MODULES: "3", VLLM_SIM_HPU_COUNT: "2" }), [
    "HABANA_VISIBLE_MODULES: '3' is not a module id in 0..1",
  ]);
  assert.deepEqual(configProblems(["m", "--tensor-parallel-size", "16"]), [
    "--tensor-parallel-size 16 exceeds the 8 modules of this host (VLLM_SIM_HPU_COUNT)",
  ]);
});
