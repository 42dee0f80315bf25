// The stand-in executable on bad and good command lines: exit codes, messages, PATH lookup, a port in use.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { startProcess, startStandIn, stopAll, waitHealthy } from "../sim/harness";
import { STAND_IN } from "../sim/standIn";
import { freePorts } from "./helpers/ports";
import { kvConfig as NIXL } from "./helpers/kvConfig";

after(stopAll);

test("the executable exits 2 on a bad command line and 1 on a bad config, naming the flag or field", { timeout: 30000 }, async () => {
  const cases: [string[], NodeJS.ProcessEnv, number, RegExp][] = [
    [["--data-parallel-addr", "127.0.0.1"], {}, 2, /^vllm: error: unrecognized arguments: --data-parallel-addr/m],
    [["--made-up-flag"], {}, 2, /^vllm: error: unrecognized arguments: --made-up-flag$/m],
    [
      ["--kv-transfer-config", NIXL({ kv_role: "kv_both", kv_connector_extra_config: { backends: ["TCP"] } })],
      {},
      1,
      /kv_connector_extra_config\.backends: 'TCP' is not a NIXL backend/,
    ],
    [["--data-parallel-size", "2", "--data-parallel-rank", "2"], {}, 1, /--data-parallel-rank 2 must be in 0\.\.1/],
    [["--tensor-parallel-size", "2"], { HABANA_VISIBLE_MODULES: "5" }, 1, /--tensor-parallel-size 2 exceeds the 1 modules in HABANA_VISIBLE_MODULES/],
  ];
  const procs = cases.map(([argv, env]) => startStandIn("m", argv, env));
  for (const [i, [argv, , code, expected]] of cases.entries()) {
    const proc = procs[i];
    assert.equal(await proc?.exited, code, argv.join(" "));
    assert.match(proc?.output() ?? "", expected);
  }
});

test(
  "`vllm` found on PATH through a symlink, from another cwd, serves a launcher-shaped command line and stops on SIGTERM",
  { timeout: 30000 },
  async (t) => {
    const [port, channel] = await freePorts(2);
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "sim-path-"));
    t.after(() => fs.rmSync(bin, { recursive: true, force: true }));
    fs.symlinkSync(STAND_IN, path.join(bin, "vllm"));
    const proc = startProcess(
      "vllm",
      [
        "serve",
        "ibm-research/PowerMoE-3b",
        "--port",
        String(port),
        "--max_num_batched_tokens",
        "8192",
        "--no-enable-prefix-caching",
        "--trust-remote-code",
        "--kv-transfer-config",
        NIXL({}),
      ],
      {
        PATH: `${bin}:${process.env.PATH}`,
        VLLM_NIXL_SIDE_CHANNEL_HOST: "127.0.0.1",
        VLLM_NIXL_SIDE_CHANNEL_PORT: String(channel),
        HABANA_VISIBLE_MODULES: "0",
      },
    );
    await waitHealthy(`http://127.0.0.1:${port}/health`, proc, 15000);
    assert.match(proc.output(), new RegExp(`Starting vLLM API server on http://0\\.0\\.0\\.0:${port}`));
    assert.match(proc.output(), new RegExp(`side_channel=127\\.0\\.0\\.1:${channel}`));
    const t0 = Date.now();
    proc.child.kill("SIGTERM");
    assert.equal(await proc.exited, 0);
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms to exit`);
  },
);

test("a serve port in use fails like vLLM: [Errno 98] and exit 1", { timeout: 30000 }, async () => {
  const [port] = await freePorts(1);
  const first = startStandIn("m", ["--host", "127.0.0.1", "--port", String(port)]);
  await waitHealthy(`http://127.0.0.1:${port}/health`, first, 15000);
  const second = startStandIn("m", ["--host", "127.0.0.1", "--port", String(port)]);
  assert.equal(await second.exited, 1);
  assert.match(second.output(), /OSError: \[Errno 98\] Address already in use/);
});
