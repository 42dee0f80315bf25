// Fault knobs aimed at one instance by its serve port: crash at startup, crash after N requests, slow startup.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { httpStatus, post } from "../sim/completionClient";
import { startStandIn, stopAll, waitHealthy } from "../sim/harness";
import { freePorts } from "./helpers/ports";

after(stopAll);

const MODEL = "ibm-research/PowerMoE-3b";

test("VLLM_SIM_CRASH_AT_STARTUP=<port> crashes only that instance, with a traceback naming the knob", { timeout: 30000 }, async () => {
  const [victimPort, otherPort] = (await freePorts(2)) as [number, number];
  const env = { VLLM_SIM_CRASH_AT_STARTUP: String(victimPort) };
  const victim = startStandIn(MODEL, ["--host", "127.0.0.1", "--port", String(victimPort)], env);
  const other = startStandIn(MODEL, ["--host", "127.0.0.1", "--port", String(otherPort)], env);
  assert.equal(await victim.exited, 1);
  assert.match(victim.output(), /Traceback \(most recent call last\):[\s\S]*RuntimeError: simulated crash at startup \(VLLM_SIM_CRASH_AT_STARTUP\)/);
  await waitHealthy(`http://127.0.0.1:${otherPort}/health`, other, 15000);
});

test("VLLM_SIM_CRASH_AFTER_REQUESTS=<port>=2 answers two requests, then the instance dies", { timeout: 30000 }, async () => {
  const [port] = (await freePorts(1)) as [number];
  const proc = startStandIn(MODEL, ["--host", "127.0.0.1", "--port", String(port)], { VLLM_SIM_CRASH_AFTER_REQUESTS: `1,${port}=2` });
  await waitHealthy(`http://127.0.0.1:${port}/health`, proc, 15000);
  const url = `http://127.0.0.1:${port}/v1/completions`;
  assert.equal((await post(url, { model: MODEL, prompt: "one", max_tokens: 2 })).status, 200);
  assert.equal((await post(url, { model: MODEL, prompt: "two", max_tokens: 2, stream: true })).status, 200);
  assert.equal(await proc.exited, 1);
  assert.match(proc.output(), /RuntimeError: simulated crash after 2 requests \(VLLM_SIM_CRASH_AFTER_REQUESTS\)/);
  assert.equal(await httpStatus(`http://127.0.0.1:${port}/health`), null);
});

test("VLLM_SIM_STARTUP_DELAY_MS holds the instance back before it serves", { timeout: 30000 }, async () => {
  const [port] = (await freePorts(1)) as [number];
  const started = Date.now();
  const proc = startStandIn(MODEL, ["--host", "127.0.0.1", "--port", String(port)], { VLLM_SIM_STARTUP_DELAY_MS: `0,${port}=1500` });
  await waitHealthy(`http://127.0.0.1:${port}/health`, proc, 15000);
  assert.ok(Date.now() - started >= 1500, `healthy after ${Date.now() - started} ms`);
  assert.match(proc.output(), /loading model weights \(VLLM_SIM_STARTUP_DELAY_MS=1500\)/);
});

test("a malformed knob is refused naming the variable", { timeout: 30000 }, async () => {
  const proc = startStandIn(MODEL, ["--port", "20000"], { VLLM_SIM_CRASH_AFTER_REQUESTS: "9301=x" });
  assert.equal(await proc.exited, 1);
  assert.match(proc.output(), /ValueError: VLLM_SIM_CRASH_AFTER_REQUESTS: 'x' is not a whole number/);
});
