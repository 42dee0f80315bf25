// `gaudi-pd plan --stack`: the committed stacks read as port layouts and JSON.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { runCli } from "./helpers/runCli";

const rowsOf = (out: string) =>
  out
    .split("\n")
    .filter((l) => /^(prefill|decode|pd)-\d+ /.test(l))
    .map((l) => l.split(/\s{2,}/));

test("multi-node: 32 instances in a layout table, DP masters on rank-0 nodes, and the router command", () => {
  const r = runCli(["plan", "--stack", "multi-node"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = rowsOf(r.stdout);
  assert.equal(rows.length, 32);
  assert.deepEqual(
    rows.find((x) => x[0] === "decode-1" && x[3] === "0"),
    ["decode-1", "decode-1", "decode", "0", "9308", "5308", "5316", "8/16", "decode-0:7300", "0"],
  );
  assert.match(r.stdout, /^NODE +ADDRESS +ROLE +INST +PORT +NIXL ENV +NIXL LISTEN +DP RANK +DP MASTER +HPU$/m);
  assert.match(r.stdout, /^NIXL ENV: VLLM_NIXL_SIDE_CHANNEL_PORT as handed to vLLM .*\nNIXL LISTEN: the first side-channel port vLLM binds/m);
  assert.match(r.stdout, /^Stack multi-node: ibm-research\/PowerMoE-3b, 4 node\(s\), 32 instance\(s\), infra aws, router on router:9192/);
  assert.equal((r.stdout.match(/--prefill http:\/\/prefill-\d:83\d\d/g) ?? []).length, 16);
  assert.equal((r.stdout.match(/--decode http:\/\/decode-\d:93\d\d/g) ?? []).length, 16);
});

test("single-node: both roles on pd-0, decode on HPUs 4-7", () => {
  const r = runCli(["plan", "--stack", "single-node"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = rowsOf(r.stdout);
  assert.deepEqual(
    rows.map((x) => `${x[2]}:${x[4]}:${x[9]}`),
    ["prefill:8300:0", "prefill:8301:1", "prefill:8302:2", "prefill:8303:3", "decode:9300:4", "decode:9301:5", "decode:9302:6", "decode:9303:7"],
  );
});

test("hosts: addresses come from the stack file; --json has every node and instance", () => {
  const r = runCli(["plan", "--stack", "hosts", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  assert.deepEqual(
    plan.nodes.map((n: { name: string; address: string }) => `${n.name}=${n.address}`),
    ["prefill-0=192.0.2.10", "prefill-1=192.0.2.11", "decode-0=192.0.2.12", "decode-1=192.0.2.13"],
  );
  assert.equal(plan.instances.length, 32);
  assert.equal(plan.router.address, "192.0.2.20");
  const d1 = plan.instances.find((i: { node: string }) => i.node === "decode-1");
  assert.equal(d1.dpMasterAddress, "192.0.2.12");
  assert.equal(d1.env.VLLM_NIXL_SIDE_CHANNEL_HOST, "192.0.2.13");
});

test("tp2: prefill pairs of HPUs, decode on two nodes", () => {
  const r = runCli(["plan", "--stack", "tp2", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  assert.deepEqual(
    plan.instances.filter((i: { role: string }) => i.role === "prefill").map((i: { hpuModules: number[] }) => i.hpuModules.join(",")),
    ["0,1", "2,3", "4,5", "6,7"],
  );
  assert.equal(plan.instances.filter((i: { role: string }) => i.role === "decode").length, 16);
});
