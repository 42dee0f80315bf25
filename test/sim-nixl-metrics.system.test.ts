// The stand-in's NIXL metrics under vLLM's names and types: a decode instance counts a transfer only when it really
// pulled KV from a prefill side channel, counts a failed pull, and with VLLM_SIM_SKIP_KV_PULL answers without pulling.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { post, prefillRequestBody } from "../sim/completionClient";
import { startStandIn, stopAll, waitHealthy } from "../sim/harness";
import { freePorts } from "./helpers/ports";
import { sampleSum } from "../sim/prometheusText";

after(stopAll);

const MODEL = "ibm-research/PowerMoE-3b";
let prefillPort = 0;
let decodePort = 0;
let skippingPort = 0;

const kvConfig = (role: string) =>
  JSON.stringify({ kv_connector: "NixlConnector", kv_role: role, kv_buffer_device: "cpu", kv_connector_extra_config: { backends: ["UCX"] } });

before(async () => {
  const [p, d, s, pc, dc, sc] = await freePorts(6);
  [prefillPort, decodePort, skippingPort] = [p, d, s];
  const env = (channel: number): NodeJS.ProcessEnv => ({
    VLLM_NIXL_SIDE_CHANNEL_HOST: "127.0.0.1",
    VLLM_NIXL_SIDE_CHANNEL_PORT: String(channel),
    VLLM_SIM_SKIP_KV_PULL: String(s),
  });
  const procs = [
    [p, startStandIn(MODEL, ["--host", "127.0.0.1", "--port", String(p), "--kv-transfer-config", kvConfig("kv_producer")], env(pc))],
    [d, startStandIn(MODEL, ["--host", "127.0.0.1", "--port", String(d), "--kv-transfer-config", kvConfig("kv_consumer")], env(dc))],
    [s, startStandIn(MODEL, ["--host", "127.0.0.1", "--port", String(s), "--kv-transfer-config", kvConfig("kv_consumer")], env(sc))],
  ] as const;
  await Promise.all(procs.map(([port, proc]) => waitHealthy(`http://127.0.0.1:${port}/health`, proc, 15000)));
});

async function metrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

async function prefilled(prompt: string): Promise<Record<string, unknown>> {
  const r = await post(`http://127.0.0.1:${prefillPort}/v1/completions`, prefillRequestBody(MODEL, prompt));
  assert.equal(r.status, 200, r.text);
  return (r.body as { kv_transfer_params: Record<string, unknown> }).kv_transfer_params;
}

const decodeAt = (port: number, prompt: string, params: Record<string, unknown>, stream = false) =>
  post(`http://127.0.0.1:${port}/v1/completions`, { model: MODEL, prompt, max_tokens: 4, stream, kv_transfer_params: params });

test("every NIXL series is exported with vLLM's names, types and labels, all zero before any transfer", async () => {
  const text = await metrics(decodePort);
  for (const h of ["vllm:nixl_xfer_time_seconds", "vllm:nixl_post_time_seconds", "vllm:nixl_bytes_transferred", "vllm:nixl_num_descriptors"]) {
    assert.match(text, new RegExp(`^# TYPE ${h} histogram$`, "m"));
    assert.match(text, new RegExp(`^${h}_bucket\\{model_name="${MODEL}",engine="0",le="\\+Inf"\\} 0$`, "m"));
    assert.equal(sampleSum(text, `${h}_count`), 0);
    assert.equal(sampleSum(text, `${h}_sum`), 0);
  }
  for (const c of ["vllm:nixl_num_failed_transfers_total", "vllm:nixl_num_failed_notifications_total"]) {
    assert.match(text, new RegExp(`^# TYPE ${c} counter$`, "m"));
    assert.equal(sampleSum(text, c), 0);
  }
  assert.match(await metrics(prefillPort), /^vllm:nixl_bytes_transferred_count\{.*\} 0$/m, "a prefill exports the series too, never recording");
});

test("a real pull raises the decode's transfer count once per request, streamed or not; the prefill records nothing", async () => {
  const before = sampleSum(await metrics(decodePort), "vllm:nixl_bytes_transferred_count") ?? -1;
  for (const stream of [false, true]) {
    const prompt = `pull ${stream} over the side channel`;
    const r = await decodeAt(decodePort, prompt, await prefilled(prompt), stream);
    assert.equal(r.status, 200, r.text);
  }
  const text = await metrics(decodePort);
  assert.equal(sampleSum(text, "vllm:nixl_bytes_transferred_count"), before + 2);
  assert.equal(sampleSum(text, "vllm:nixl_num_descriptors_count"), before + 2);
  assert.ok((sampleSum(text, "vllm:nixl_bytes_transferred_sum") ?? 0) > 0);
  const le = text.match(/^vllm:nixl_xfer_time_seconds_bucket\{[^}]*le="5.0"\} (\d+)$/m);
  assert.equal(Number(le?.[1]), before + 2, "each transfer falls in a bucket");
  assert.equal(sampleSum(await metrics(prefillPort), "vllm:nixl_bytes_transferred_count"), 0);
});

test("a failed pull counts a failed transfer and no transfer", async () => {
  const text0 = await metrics(decodePort);
  const params = { ...(await prefilled("a pull that cannot work")), remote_port: prefillPort };
  const r = await decodeAt(decodePort, "a pull that cannot work", params);
  assert.equal(r.status, 500);
  const text1 = await metrics(decodePort);
  assert.equal(sampleSum(text1, "vllm:nixl_num_failed_transfers_total"), (sampleSum(text0, "vllm:nixl_num_failed_transfers_total") ?? 0) + 1);
  assert.equal(sampleSum(text1, "vllm:nixl_bytes_transferred_count"), sampleSum(text0, "vllm:nixl_bytes_transferred_count"));
});

test("VLLM_SIM_SKIP_KV_PULL: the decode answers 200 and counts the request, but no transfer (the silent fallback)", async () => {
  const r = await decodeAt(skippingPort, "decode-only", await prefilled("decode-only"));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual((r.body as { served_by: { prefill: unknown } }).served_by.prefill, null);
  const text = await metrics(skippingPort);
  assert.equal(sampleSum(text, "vllm:request_success_total"), 1);
  assert.equal(sampleSum(text, "vllm:nixl_bytes_transferred_count"), 0);
  assert.equal(sampleSum(text, "vllm:nixl_num_failed_transfers_total"), 0);
});
