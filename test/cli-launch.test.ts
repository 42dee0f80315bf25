// `gaudi-pd launch --dry-run`: the seed's interface and the JSON of docs/architecture.md#interfaces.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeSecretFile } from "../cli/launch";
import { runCli } from "./helpers/runCli";

test("decode node 1 of 2 (the acceptance example): ports 9308-9315, DP ranks 8-15, master 192.168.1.102:7300", () => {
  const r = runCli([
    "launch",
    "--role",
    "decode",
    "--num-instances",
    "8",
    "--dp-size",
    "16",
    "--node-size",
    "2",
    "--node-rank",
    "1",
    "--node-ip",
    "192.168.1.103",
    "--dp-master-ip",
    "192.168.1.102",
    "--dry-run",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const { instances } = JSON.parse(r.stdout);
  assert.deepEqual(
    instances.map((i: { port: number }) => i.port),
    [9308, 9309, 9310, 9311, 9312, 9313, 9314, 9315],
  );
  assert.deepEqual(
    instances.map((i: { dpRank: number }) => i.dpRank),
    [8, 9, 10, 11, 12, 13, 14, 15],
  );
  for (const i of instances) {
    assert.equal(i.role, "decode");
    assert.equal(i.nodeRank, 1);
    assert.equal(i.dpMasterAddress, "192.168.1.102");
    assert.equal(i.dpMasterPort, 7300);
    assert.equal(i.argv[i.argv.indexOf("--data-parallel-address") + 1], "192.168.1.102");
    assert.equal(i.env.VLLM_NIXL_SIDE_CHANNEL_HOST, "192.168.1.103");
    assert.equal(i.env.VLLM_NIXL_SIDE_CHANNEL_PORT, String(5300 + 8 + i.instance));
    assert.equal(i.sideChannelPort, 5300 + 8 + i.instance + i.dpRank);
    assert.deepEqual(
      Object.keys(i).filter((k) =>
        ["role", "nodeRank", "instance", "dpRank", "port", "sideChannelPort", "dpMasterAddress", "dpMasterPort", "env", "argv"].includes(k),
      ).length,
      10,
    );
  }
});

test("defaults are the seed's: one prefill instance on 8300, channel 4300, no DP", () => {
  const r = runCli(["launch", "--dry-run", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const [i] = JSON.parse(r.stdout).instances;
  assert.equal(i.port, 8300);
  assert.equal(i.sideChannelPort, 4300);
  assert.equal(i.dpRank, null);
  assert.equal(i.dpMasterAddress, null);
  assert.deepEqual(i.argv.slice(0, 3), ["vllm", "serve", "ibm-research/PowerMoE-3b"]);
  assert.equal(i.env.VLLM_NIXL_SIDE_CHANNEL_HOST, "localhost");
});

test("the fuller launcher's flags map onto vLLM's", () => {
  const r = runCli([
    "launch",
    "-r",
    "decode",
    "-n",
    "2",
    "-d",
    "2",
    "-t",
    "2",
    "--apc",
    "--async",
    "--no-ep",
    "--warmup",
    "--inc",
    "/q.json",
    "--nixl-buffer-device",
    "hpu",
    "--max-model-len",
    "4096",
    "--gpu-memory-utilization",
    "0.5",
    "--enforce-eager",
    "--dry-run",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const [i] = JSON.parse(r.stdout).instances;
  for (const w of ["--enable-prefix-caching", "--async-scheduling", "--enforce-eager", "fp8_inc"]) assert.ok(i.argv.includes(w), w);
  assert.ok(!i.argv.includes("--enable-expert-parallel"));
  assert.equal(i.argv[i.argv.indexOf("--max-model-len") + 1], "4096");
  assert.equal(i.argv[i.argv.indexOf("--gpu-memory-utilization") + 1], "0.5");
  assert.equal(i.env.VLLM_SKIP_WARMUP, undefined);
  assert.equal(i.env.UCX_TLS, "rc,ud,ib,gaudi_gdr");
  assert.equal(i.env.HABANA_VISIBLE_MODULES, "0,1");
});

test("dry-run text prints one runnable command per instance", () => {
  const r = runCli(["launch", "-n", "2", "--dry-run"]);
  assert.equal(r.code, 0, r.stderr);
  const commands = r.stdout.split("\n").filter((l) => l.startsWith("env "));
  assert.equal(commands.length, 2);
  assert.match(commands[1], / vllm serve ibm-research\/PowerMoE-3b --port 8301 /);
  assert.match(commands[1], /--kv-transfer-config '\{"kv_connector":"NixlConnector"/);
});

test("--help reads like the seed's", () => {
  const r = runCli(["launch", "--help"]);
  assert.equal(r.code, 0);
  for (const f of ["-m, --model MODEL", "-r, --role ROLE", "-n, --num-instances NUM", "--base-channel-port PORT", "--ucx-tls TLS", "--enforce-eager"])
    assert.ok(r.stdout.includes(f), f);
});

test("a secret file is 0600 whatever existed before (an old 0644 token file included)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gaudi-pd-secret-"));
  try {
    const file = path.join(dir, "hf-token.env");
    fs.writeFileSync(file, "old\n", { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    writeSecretFile(file, "HF_TOKEN=hf_x\n");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(file, "utf8"), "HF_TOKEN=hf_x\n");
    assert.deepEqual(fs.readdirSync(dir), ["hf-token.env"], "no temporary file left");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
