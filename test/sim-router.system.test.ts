// The real vllm-router (pinned, from scripts/install-router.sh) in P/D mode in front of 2 prefill and 2 decode
// stand-ins: completions and chat, plain and streamed, all succeed and each names its prefill and decode instance.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Completion, generatedText, post, type ServedBy, servedByReports } from "../sim/completionClient";
import { startRouter, startStandIn, stopAll, waitHealthy } from "../sim/harness";
import { freePorts } from "./helpers/ports";
import { installRouter } from "../sim/toolInstall";

after(stopAll);

const MODEL = "ibm-research/PowerMoE-3b";
let router = "";
const prefillPorts: number[] = [];
const decodePorts: number[] = [];

before(async () => {
  const exe = installRouter();
  const ports = await freePorts(10);
  const take = (): number => ports.pop() ?? 0;
  const instances = (["kv_producer", "kv_producer", "kv_consumer", "kv_consumer"] as const).map((role) => {
    const port = take();
    (role === "kv_producer" ? prefillPorts : decodePorts).push(port);
    const kv = JSON.stringify({
      kv_connector: "NixlConnector",
      kv_role: role,
      kv_buffer_device: "cpu",
      kv_connector_extra_config: { backends: ["UCX"] },
    });
    const proc = startStandIn(MODEL, ["--host", "127.0.0.1", "--port", String(port), "--kv-transfer-config", kv], {
      VLLM_NIXL_SIDE_CHANNEL_HOST: "127.0.0.1",
      VLLM_NIXL_SIDE_CHANNEL_PORT: String(take()),
    });
    return waitHealthy(`http://127.0.0.1:${port}/health`, proc, 15000);
  });
  await Promise.all(instances);
  const [port, prometheusPort] = [take(), take()];
  const proc = startRouter(exe, {
    port,
    prometheusPort,
    prefill: prefillPorts.map((p) => `http://127.0.0.1:${p}`),
    decode: decodePorts.map((p) => `http://127.0.0.1:${p}`),
    // Round robin makes every instance take part within a few requests; the default cache_aware works as well.
    extraArgs: ["--prefill-policy", "round_robin", "--decode-policy", "round_robin"],
  });
  router = `http://127.0.0.1:${port}`;
  await waitHealthy(`${router}/readiness`, proc, 30000);
});

/** Who served a completion: exactly one served_by, naming a prefill and a decode instance. */
function servedBy(r: Completion): { prefill: number; decode: number } {
  assert.equal(r.status, 200, r.text);
  const reports = servedByReports(r);
  assert.equal(reports.length, 1, `one served_by expected in ${r.text}`);
  const [{ prefill, decode }] = reports as [ServedBy];
  assert.equal(prefill?.role, "prefill");
  assert.equal(decode?.role, "decode");
  return { prefill: prefill!.port, decode: decode!.port };
}

const REQUESTS: [string, string, (stream: boolean, i: number) => unknown][] = [
  ["completions", "/v1/completions", (stream, i) => ({ model: MODEL, prompt: `Gaudi request ${i}`, max_tokens: 6, stream })],
  [
    "chat",
    "/v1/chat/completions",
    (stream, i) => ({
      model: MODEL,
      messages: [{ role: "user", content: `Gaudi request ${i}` }],
      max_tokens: 6,
      stream,
      stream_options: stream ? { include_usage: true } : undefined,
    }),
  ],
];

for (const [name, path, body] of REQUESTS) {
  test(`${name}: plain and streamed through the router, every instance serving, answers deterministic`, { timeout: 30000 }, async () => {
    const seen = { prefill: new Set<number>(), decode: new Set<number>() };
    for (let i = 0; i < 4; i++) {
      const [plain, streamed] = [await post(`${router}${path}`, body(false, i)), await post(`${router}${path}`, body(true, i))];
      for (const r of [plain, streamed]) {
        const served = servedBy(r);
        seen.prefill.add(served.prefill);
        seen.decode.add(served.decode);
      }
      assert.notEqual(generatedText(plain), "");
      assert.equal(generatedText(streamed), generatedText(plain), "the same prompt gives the same answer streamed or not");
      assert.match(streamed.text, /data: \[DONE\]\n\n$/);
    }
    assert.deepEqual([...seen.prefill].sort(), [...prefillPorts].sort(), "both prefill instances served");
    assert.deepEqual([...seen.decode].sort(), [...decodePorts].sort(), "both decode instances served");
  });
}

test("the router lists the model the instances serve", async () => {
  const models = (await (await fetch(`${router}/v1/models`)).json()) as { data: { id: string; max_model_len: number }[] };
  assert.deepEqual(
    models.data.map((m) => [m.id, m.max_model_len]),
    [[MODEL, 8192]],
  );
});
