// PdServing under mocks: each node's script carries the addresses the hosts really have, commands are gated and
// ordered as DP groups need, and a script depends only on the addresses it uses.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { QUIET_SSHD, READY_TIMEOUT } from "../components/pdServing";
import { bindAddresses, planCluster } from "../components/plan";
import { hfTokenCommands, READY_COMMAND, scriptCommands, verifyCommands } from "../components/render/hostCommands";
import { renderVerifyScript } from "../components/render/verifyScript";
import { renderNodeScript } from "../components/render/nodeScript";
import { rawTopologyFromConfig, readStackConfig } from "../components/stackConfig";
import { parseTopology } from "../components/topology";
import { byType, isSecretValue, mockAddresses, named, reveal, runProgram, stackConfig, TYPES } from "./helpers/pulumiMocks";

const run = async (stack: string, edit?: (c: Record<string, unknown>) => void) => {
  const { config, secretKeys } = stackConfig(stack, edit);
  return runProgram(config, secretKeys);
};
const stdinOf = (r: Awaited<ReturnType<typeof run>>, name: string) => reveal(named(r, name).inputs.stdin) as string;
const ip = (name: string) => mockAddresses(name).privateIp;
/** A stack file's raw topology, as the CLI reads it. */
const rawOf = (stack: string) => rawTopologyFromConfig(readStackConfig(`${__dirname}/../stacks`, stack) ?? {});

test("decode-1's script: DP master at decode-0's private address, NIXL side channel on its own", async () => {
  const r = await run("multi-node");
  const script = stdinOf(r, "gaudi-pd-decode-1-serve");
  const masters = [...script.matchAll(/--data-parallel-address (\S+)/g)].map((m) => m[1]);
  assert.equal(masters.length, 8);
  assert.ok(
    masters.every((a) => a === ip("decode-0")),
    masters.join(" "),
  );
  const sideHosts = [...script.matchAll(/VLLM_NIXL_SIDE_CHANNEL_HOST=(\S+)/g)].map((m) => m[1]);
  assert.equal(sideHosts.length, 8);
  assert.ok(
    sideHosts.every((a) => a === ip("decode-1")),
    sideHosts.join(" "),
  );
  assert.ok(!script.includes(ip("prefill-0")) && !script.includes(ip("prefill-1")), "a decode script names no prefill address");
  const prefill1 = stdinOf(r, "gaudi-pd-prefill-1-serve");
  assert.match(prefill1, new RegExp(`--data-parallel-address ${ip("prefill-0").replace(/\./g, "\\.")}\\b`));
  assert.match(prefill1, new RegExp(`VLLM_NIXL_SIDE_CHANNEL_HOST=${ip("prefill-1").replace(/\./g, "\\.")}\\b`));
});

test("the router's script lists every prefill and decode endpoint; endpoints and routerUrl are outputs", async () => {
  const r = await run("multi-node");
  const script = stdinOf(r, "gaudi-pd-router-serve");
  const urls = (role: string) => [...script.matchAll(new RegExp(`--${role} (http://\\S+)`, "g"))].map((m) => m[1]);
  const expected = (node: string, base: number) => Array.from({ length: 8 }, (_, i) => `http://${ip(node)}:${base + i}`);
  assert.deepEqual(urls("prefill"), [...expected("prefill-0", 8300), ...expected("prefill-1", 8308)]);
  assert.deepEqual(urls("decode"), [...expected("decode-0", 9300), ...expected("decode-1", 9308)]);
  assert.deepEqual(r.outputs.endpoints, { prefill: urls("prefill"), decode: urls("decode") });
  assert.equal(r.outputs.routerUrl, `http://${mockAddresses("router").publicIp}:9192`);
  assert.deepEqual(
    (r.outputs.nodes as { name: string }[]).map((n) => n.name),
    ["prefill-0", "prefill-1", "decode-0", "decode-1"],
  );
  assert.deepEqual((r.outputs.nodes as object[])[3], {
    role: "decode",
    rank: 1,
    name: "decode-1",
    privateAddress: ip("decode-1"),
    publicAddress: mockAddresses("decode-1").publicIp,
  });
});

test("commands: ready polls a booting host, the token goes first, serve carries its script and is replaced on change", async () => {
  const r = await run("multi-node");
  const stateDir = "/var/lib/gaudi-pd";
  for (const node of ["prefill-0", "prefill-1", "decode-0", "decode-1"]) {
    const ready = named(r, `gaudi-pd-${node}-ready`);
    assert.equal(ready.inputs.create, READY_COMMAND);
    assert.equal(ready.inputs.logging, "none");
    assert.equal((reveal(ready.inputs.connection) as { dialErrorLimit: number }).dialErrorLimit, -1);
    assert.deepEqual(ready.customTimeouts, { create: READY_TIMEOUT });

    const token = named(r, `gaudi-pd-${node}-hf-token`);
    assert.deepEqual({ create: token.inputs.create, delete: token.inputs.delete }, hfTokenCommands(stateDir));
    assert.equal(token.inputs.logging, "none");
    assert.deepEqual(token.dependsOn, [`gaudi-pd-${node}-ready`]);
    assert.deepEqual(
      token.additionalSecretOutputs.filter((o) => o !== "connection"),
      ["stdout", "stderr"],
    );

    const serve = named(r, `gaudi-pd-${node}-serve`);
    assert.deepEqual({ create: serve.inputs.create, delete: serve.inputs.delete }, scriptCommands(stateDir, node));
    const script = stdinOf(r, `gaudi-pd-${node}-serve`);
    assert.deepEqual(serve.inputs.triggers, [createHash("sha256").update(script).digest("hex")]);
    assert.equal(serve.deleteBeforeReplace, true);
    // Gated on its own host only: no serve waits for another, so every DP rank of a role starts together.
    assert.deepEqual(serve.dependsOn.sort(), [`gaudi-pd-${node}-hf-token`, `gaudi-pd-${node}-ready`]);
    assert.equal(serve.inputs.logging, "stdoutAndStderr");
    assert.equal((reveal(serve.inputs.connection) as { host: string }).host, mockAddresses(node).publicIp);
  }
  const router = named(r, "gaudi-pd-router-serve");
  assert.deepEqual({ create: router.inputs.create, delete: router.inputs.delete }, scriptCommands(stateDir, "router"));
  // Started with the nodes (vllm-router waits for its workers itself), once every host answers, so its wait covers theirs.
  assert.deepEqual(router.dependsOn.sort(), [
    "gaudi-pd-decode-0-ready",
    "gaudi-pd-decode-1-ready",
    "gaudi-pd-prefill-0-ready",
    "gaudi-pd-prefill-1-ready",
    "gaudi-pd-router-ready",
  ]);
  assert.equal(router.deleteBeforeReplace, true);
  assert.equal((reveal(router.inputs.connection) as { host: string }).host, mockAddresses("router").publicIp);
});

test("no remote command passes its previous output to the next run: a stock sshd (no AcceptEnv PULUMI_COMMAND_*) stays quiet", async () => {
  for (const stack of ["multi-node", "single-node", "hosts", "tp2"]) {
    const commands = byType(await run(stack), TYPES.command);
    assert.ok(commands.length >= 3, `${stack}: ready, hf-token and serve commands expected`);
    for (const c of commands) assert.equal(c.inputs.addPreviousOutputInEnv, false, `${stack}: ${c.name}`);
  }
  assert.deepEqual(QUIET_SSHD, { addPreviousOutputInEnv: false });
});

test("router placed on a node: it runs there, with that node's serve, and no router machine or poll exists", async () => {
  const r = await run("single-node");
  const router = named(r, "gaudi-pd-router-serve");
  assert.deepEqual(router.dependsOn, ["gaudi-pd-pd-0-ready"]);
  assert.deepEqual(named(r, "gaudi-pd-verify").dependsOn, ["gaudi-pd-pd-0-ready", "gaudi-pd-pd-0-serve", "gaudi-pd-router-serve"]);
  assert.equal((reveal(router.inputs.connection) as { host: string }).host, mockAddresses("pd-0").publicIp);
  assert.ok(!r.resources.some((x) => x.name === "gaudi-pd-router-ready" || x.name === "gaudi-pd-router"));
  assert.equal(r.outputs.routerUrl, `http://${mockAddresses("pd-0").publicIp}:9192`);
});

test("without an HF token: no token command, serve gated on readiness alone", async () => {
  const r = await run("multi-node", (c) => delete c["gaudi-pd:hfToken"]);
  assert.ok(!byType(r, TYPES.command).some((c) => c.name.endsWith("-hf-token")));
  assert.deepEqual(named(r, "gaudi-pd-decode-1-serve").dependsOn, ["gaudi-pd-decode-1-ready"]);
  assert.ok(!stdinOf(r, "gaudi-pd-decode-1-serve").includes("hf-token.env"));
});

test("decode-1's script does not change when a prefill address or a prefill setting changes", () => {
  const raw = rawOf("multi-node");
  const addresses = { "prefill-0": "10.1.0.10", "prefill-1": "10.1.0.11", "decode-0": "10.2.0.10", "decode-1": "10.2.0.11", router: "10.4.0.10" };
  const render = (r: Record<string, unknown>, a: Record<string, string>) =>
    renderNodeScript(bindAddresses(planCluster(parseTopology(r)), a), "decode-1");
  const base = render(raw, addresses);
  assert.equal(render(raw, { ...addresses, "prefill-0": "10.1.9.99" }), base);
  const prefillChanged = { ...raw, prefill: { ...(raw.prefill as object), maxNumSeqs: 64 } };
  assert.equal(render(prefillChanged, addresses), base);
  assert.notEqual(render(raw, { ...addresses, "decode-0": "10.2.9.99" }), base);
});

test("the connection and the token stdin are secrets in what the engine receives", async () => {
  const r = await run("multi-node");
  for (const c of byType(r, TYPES.command)) assert.ok(isSecretValue(c.inputs.connection), `${c.name} connection`);
  for (const c of byType(r, TYPES.command).filter((x) => x.name.endsWith("-hf-token"))) assert.ok(isSecretValue(c.inputs.stdin), `${c.name} stdin`);
});

test("the verify step runs last on the router host, carries the bound plan's check, and re-runs when any serve script changes", async () => {
  const r = await run("multi-node");
  const verify = named(r, "gaudi-pd-verify");
  assert.deepEqual({ create: verify.inputs.create, delete: verify.inputs.delete }, verifyCommands("/var/lib/gaudi-pd", "gaudi-pd-verify"));
  // Last: after every serve command and the router, on the router host.
  assert.deepEqual(verify.dependsOn, [
    "gaudi-pd-router-ready",
    "gaudi-pd-prefill-0-serve",
    "gaudi-pd-prefill-1-serve",
    "gaudi-pd-decode-0-serve",
    "gaudi-pd-decode-1-serve",
    "gaudi-pd-router-serve",
  ]);
  assert.equal((reveal(verify.inputs.connection) as { host: string }).host, mockAddresses("router").publicIp);
  assert.equal(verify.inputs.logging, "stdoutAndStderr");
  const names = ["prefill-0", "prefill-1", "decode-0", "decode-1", "router"];
  const bound = planCluster(parseTopology(rawOf("multi-node")), { addresses: Object.fromEntries(names.map((n) => [n, ip(n)])) });
  assert.equal(stdinOf(r, "gaudi-pd-verify"), renderVerifyScript(bound));
  const sha = (text: string) => createHash("sha256").update(text).digest("hex");
  assert.deepEqual(
    verify.inputs.triggers,
    names.map((n) => sha(stdinOf(r, `gaudi-pd-${n}-serve`))),
  );
});

test("verify: false registers no verify step; the metrics URLs are outputs and the router's Prometheus binds its private address", async () => {
  const off = await run("multi-node", (c) => (c["gaudi-pd:verify"] = false));
  assert.ok(!off.resources.some((x) => x.name.endsWith("-verify")));
  const r = await run("multi-node");
  const metrics = r.outputs.metricsUrls as { router: string; prefill: string[]; decode: string[] };
  assert.equal(metrics.router, `http://${ip("router")}:29000/metrics`);
  assert.deepEqual(
    metrics.decode,
    (r.outputs.endpoints as { decode: string[] }).decode.map((u) => `${u}/metrics`),
  );
  assert.equal(metrics.prefill.length, 16);
  assert.match(stdinOf(r, "gaudi-pd-router-serve"), new RegExp(`--prometheus-host ${ip("router").replace(/\./g, "\\.")} `));
  const pinned = await run("multi-node", (c) => (c["gaudi-pd:router"] = { metricsBindAddress: "0.0.0.0" }));
  assert.equal((pinned.outputs.metricsUrls as { router: string }).router, "http://0.0.0.0:29000/metrics");
});
