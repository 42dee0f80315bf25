// Prefill -> decode through kv_transfer_params, without a router: the decode instance pulls the prefilled blocks over
// the prefill's NIXL side channel, and fails the request, naming the address, when the params point anywhere else.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { post, prefillRequestBody } from "../sim/completionClient";
import { startStandIn, stopAll, waitHealthy } from "../sim/harness";
import { freePorts } from "./helpers/ports";

after(stopAll);

const MODEL = "ibm-research/PowerMoE-3b";
let prefillPort = 0;
let prefillChannel = 0;
let decodePort = 0;
let decodeChannel = 0;

function kvConfig(role: string): string {
  return JSON.stringify({ kv_connector: "NixlConnector", kv_role: role, kv_buffer_device: "cpu", kv_connector_extra_config: { backends: ["UCX"] } });
}

before(async () => {
  [prefillPort, prefillChannel, decodePort, decodeChannel] = (await freePorts(4)) as [number, number, number, number];
  const env = (channel: number): NodeJS.ProcessEnv => ({ VLLM_NIXL_SIDE_CHANNEL_HOST: "127.0.0.1", VLLM_NIXL_SIDE_CHANNEL_PORT: String(channel) });
  const prefill = startStandIn(
    MODEL,
    ["--host", "127.0.0.1", "--port", String(prefillPort), "--kv-transfer-config", kvConfig("kv_producer")],
    env(prefillChannel),
  );
  const decode = startStandIn(
    MODEL,
    ["--host", "127.0.0.1", "--port", String(decodePort), "--kv-transfer-config", kvConfig("kv_consumer")],
    env(decodeChannel),
  );
  await Promise.all([
    waitHealthy(`http://127.0.0.1:${prefillPort}/health`, prefill, 15000),
    waitHealthy(`http://127.0.0.1:${decodePort}/health`, decode, 15000),
  ]);
});

/** Prefill a prompt the way the router does and return the kv_transfer_params for the decode step. */
async function prefill(prompt: string): Promise<Record<string, unknown>> {
  const r = await post(`http://127.0.0.1:${prefillPort}/v1/completions`, prefillRequestBody(MODEL, prompt));
  assert.equal(r.status, 200, r.text);
  return (r.body as { kv_transfer_params: Record<string, unknown> }).kv_transfer_params;
}

function decode(prompt: string, params: Record<string, unknown>, stream = false): ReturnType<typeof post> {
  return post(`http://127.0.0.1:${decodePort}/v1/completions`, { model: MODEL, prompt, max_tokens: 4, stream, kv_transfer_params: params });
}

function errorMessage(body: unknown): string {
  return (body as { error: { message: string } }).error.message;
}

test("prefill answers with kv_transfer_params naming its side channel; decode pulls them and says who did what", async () => {
  const params = await prefill("Gaudi serves disaggregated");
  assert.equal(params.do_remote_prefill, true);
  assert.equal(params.do_remote_decode, false);
  assert.equal(params.remote_host, "127.0.0.1");
  assert.equal(params.remote_port, prefillChannel);
  assert.equal(params.tp_size, 1);
  const r = await decode("Gaudi serves disaggregated", params);
  assert.equal(r.status, 200, r.text);
  const body = r.body as { choices: { text: string }[]; usage: { completion_tokens: number }; served_by: unknown };
  assert.equal(body.usage.completion_tokens, 4);
  assert.equal(body.choices[0]?.text.split(" ").length, 5, "4 space-led pseudo-tokens");
  assert.deepEqual(body.served_by, {
    prefill: { role: "prefill", host: "127.0.0.1", port: prefillPort, dpRank: null },
    decode: { role: "decode", host: "127.0.0.1", port: decodePort, dpRank: null },
  });
});

test("a streamed decode carries served_by in the chunk that finishes the choice", async () => {
  const r = await decode("stream me", await prefill("stream me"), true);
  assert.equal(r.status, 200, r.text);
  const last = r.events.at(-1) as { choices: { finish_reason: string }[]; served_by: { prefill: { port: number } } };
  assert.equal(last.choices[0]?.finish_reason, "length");
  assert.equal(last.served_by.prefill.port, prefillPort);
  assert.match(r.text, /data: \[DONE\]\n\n$/);
});

test("prefilled blocks are handed out once", async () => {
  const params = await prefill("only once");
  assert.equal((await decode("only once", params)).status, 200);
  const again = await decode("only once", params);
  assert.equal(again.status, 500);
  assert.match(errorMessage(again.body), /no KV blocks for request/);
});

test("decode fails, naming the address, when the params point at no live prefill side channel", async () => {
  const params = await prefill("mis-wired");
  const [nobody] = await freePorts(1);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ remote_port: nobody }, new RegExp(`side channel 127\\.0\\.0\\.1:${nobody} .*connection refused`)],
    [{ remote_host: "127.0.0.2" }, new RegExp(`side channel 127\\.0\\.0\\.2:${prefillChannel} .*connection refused`)],
    [{ remote_port: decodeChannel }, new RegExp(`side channel 127\\.0\\.0\\.1:${decodeChannel} .*a decode instance serves no KV blocks`)],
    [{ remote_port: prefillPort }, new RegExp(`side channel 127\\.0\\.0\\.1:${prefillPort} .*not a NIXL side channel`)],
    [{ remote_engine_id: "some-other-engine" }, /engine id mismatch: this side channel serves engine .*, the request names some-other-engine/],
  ];
  for (const [change, expected] of cases) {
    const r = await decode("mis-wired", { ...params, ...change });
    assert.equal(r.status, 500, JSON.stringify(change));
    assert.match(errorMessage(r.body), expected);
  }
  assert.equal((await decode("mis-wired", params)).status, 200, "the failed attempts did not consume the blocks");
});

test("each role refuses the other role's half of the protocol", async () => {
  const toDecode = await post(`http://127.0.0.1:${decodePort}/v1/completions`, {
    model: MODEL,
    prompt: "x",
    max_tokens: 1,
    kv_transfer_params: { do_remote_decode: true },
  });
  assert.equal(toDecode.status, 400);
  assert.match(errorMessage(toDecode.body), /only a kv_producer prefills for remote decode/);
  const toPrefill = await post(`http://127.0.0.1:${prefillPort}/v1/completions`, {
    model: MODEL,
    prompt: "x",
    max_tokens: 1,
    kv_transfer_params: await prefill("x"),
  });
  assert.equal(toPrefill.status, 400);
  assert.match(errorMessage(toPrefill.body), /only a kv_consumer pulls KV/);
});

test("kv_transfer_params with a missing or mistyped remote field is refused, naming it", async () => {
  const params = await prefill("typed");
  const r = await decode("typed", { ...params, remote_port: String(prefillChannel), remote_request_id: undefined });
  assert.equal(r.status, 400);
  assert.equal(
    errorMessage(r.body),
    `kv_transfer_params with do_remote_prefill has missing or invalid remote_request_id=null, remote_port="${prefillChannel}"`,
  );
});

test("requests for another model are refused as vLLM does", async () => {
  const r = await post(`http://127.0.0.1:${decodePort}/v1/chat/completions`, { model: "other", messages: [{ role: "user", content: "hi" }] });
  assert.equal(r.status, 404);
  assert.equal(errorMessage(r.body), "The model `other` does not exist.");
});
