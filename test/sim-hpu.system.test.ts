// With VLLM_SIM_LOCK_DIR set, an HPU module held by a live instance cannot be taken by another on the same host.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { startStandIn, stopAll, waitHealthy } from "../sim/harness";
import { freePorts } from "./helpers/ports";

const lockDir = fs.mkdtempSync(path.join(os.tmpdir(), "sim-hpu-"));
after(async () => {
  await stopAll();
  fs.rmSync(lockDir, { recursive: true, force: true });
});

test("a busy module is refused on the same host, free on another, and released on exit", { timeout: 30000 }, async () => {
  const [first, second, third, fourth] = (await freePorts(4)) as [number, number, number, number];
  const env = (host: string): NodeJS.ProcessEnv => ({ VLLM_SIM_LOCK_DIR: lockDir, VLLM_SIM_HOST_ID: host, HABANA_VISIBLE_MODULES: "2,3" });
  const holder = startStandIn("m", ["--host", "127.0.0.1", "--port", String(first), "-tp", "2"], env("node-a"));
  await waitHealthy(`http://127.0.0.1:${first}/health`, holder, 15000);
  assert.match(holder.output(), /hpu_modules=\[2,3\]/);

  const refused = startStandIn("m", ["--host", "127.0.0.1", "--port", String(second)], env("node-a"));
  assert.equal(await refused.exited, 1);
  assert.match(
    refused.output(),
    new RegExp(`RuntimeError: HPU module 2 \\(from HABANA_VISIBLE_MODULES\\) is busy: held by pid ${holder.child.pid} on host node-a`),
  );

  const elsewhere = startStandIn("m", ["--host", "127.0.0.1", "--port", String(third)], env("node-b"));
  await waitHealthy(`http://127.0.0.1:${third}/health`, elsewhere, 15000);

  holder.child.kill("SIGTERM");
  await holder.exited;
  const again = startStandIn("m", ["--host", "127.0.0.1", "--port", String(fourth)], env("node-a"));
  await waitHealthy(`http://127.0.0.1:${fourth}/health`, again, 15000);
});
