// DP groups: ranks serve only once every rank joined rank 0's rendezvous exactly once; a mis-wired rank waits and says
// for what; a duplicate rank or a size mismatch fails the whole group loudly.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { httpStatus, post } from "../sim/completionClient";
import { type Proc, startStandIn, stopAll, waitForOutput, waitHealthy } from "../sim/harness";
import { freeBlocks, freePorts } from "./helpers/ports";

after(stopAll);

const MODEL = "ibm-research/PowerMoE-3b";
const PRODUCER = JSON.stringify({ kv_connector: "NixlConnector", kv_role: "kv_producer", kv_buffer_device: "cpu" });

interface Rank {
  readonly proc: Proc;
  readonly port: number;
}

/** Start DP rank `rank` of `size` with its master at 127.0.0.1:masterPort; a prefill instance when given a channel base port. */
function startRank(
  rank: number,
  size: number,
  port: number,
  masterPort: number,
  options: { channelBase?: number; env?: NodeJS.ProcessEnv } = {},
): Rank {
  const args = [
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--data-parallel-size",
    String(size),
    "--data-parallel-rank",
    String(rank),
    "--data-parallel-address",
    "127.0.0.1",
    "--data-parallel-rpc-port",
    String(masterPort),
  ];
  if (options.channelBase === undefined) return { proc: startStandIn(MODEL, args, options.env), port };
  const env = { VLLM_NIXL_SIDE_CHANNEL_HOST: "127.0.0.1", VLLM_NIXL_SIDE_CHANNEL_PORT: String(options.channelBase), ...options.env };
  return { proc: startStandIn(MODEL, [...args, "--kv-transfer-config", PRODUCER], env), port };
}

const health = (r: Rank): string => `http://127.0.0.1:${r.port}/health`;

test("a 3-rank group serves only once all ranks joined; each rank's side channel is the env port + its DP rank", { timeout: 30000 }, async () => {
  // Rank r binds channelBase + r: the whole block must be free and outside the ephemeral range.
  const [master, channelBase, p0, p1, p2] = (await freeBlocks([1, 3, 1, 1, 1])) as [number, number, number, number, number];
  const rank0 = startRank(0, 3, p0, master, { channelBase });
  const rank2 = startRank(2, 3, p2, master, { channelBase });
  await waitForOutput(rank0.proc, /DP rank 2 joined from .*; DP group 2\/3 joined, missing ranks 1/, 15000);
  assert.equal(await httpStatus(health(rank0)), null, "rank 0 must not serve before the group is complete");
  assert.equal(await httpStatus(health(rank2)), null, "rank 2 must not serve before the group is complete");
  const rank1 = startRank(1, 3, p1, master, { channelBase });
  await Promise.all([rank0, rank1, rank2].map((r) => waitHealthy(health(r), r.proc, 15000)));
  assert.match(rank0.proc.output(), /DP group complete: all 3 ranks joined/);
  const r = await post(`http://127.0.0.1:${p2}/v1/completions`, {
    model: MODEL,
    prompt: "x",
    max_tokens: 1,
    kv_transfer_params: { do_remote_decode: true },
  });
  const params = (r.body as { kv_transfer_params: { remote_port: number; remote_engine_id: string } }).kv_transfer_params;
  assert.equal(params.remote_port, channelBase + 2);
  assert.match(params.remote_engine_id, /_dp2$/);
  assert.equal((r.body as { served_by: { prefill: { dpRank: number } } }).served_by.prefill.dpRank, 2);
});

test("a rank pointed at the wrong master port never serves, logs what it waits for, and gives up after the timeout", { timeout: 30000 }, async () => {
  const [nobody, port] = (await freePorts(2)) as [number, number];
  const lost = startRank(1, 2, port, nobody, { env: { VLLM_SIM_DP_TIMEOUT_S: "4" } });
  await waitForOutput(lost.proc, new RegExp(`DP rank 1: waiting for DP master 127\\.0\\.0\\.1:${nobody} \\(connection refused\\)`), 10000);
  assert.equal(await httpStatus(health(lost)), null);
  assert.equal(await lost.proc.exited, 1);
  assert.match(lost.proc.output(), new RegExp(`timed out after 4 s waiting for DP master 127\\.0\\.0\\.1:${nobody} \\(connection refused\\)`));
});

test("a duplicate rank fails the whole group loudly", { timeout: 30000 }, async () => {
  const [master, p0, p1, p1b] = (await freePorts(4)) as [number, number, number, number];
  const rank0 = startRank(0, 3, p0, master);
  const rank1 = startRank(1, 3, p1, master);
  await waitForOutput(rank0.proc, /DP rank 1 joined/, 15000);
  const again = startRank(1, 3, p1b, master);
  assert.deepEqual(await Promise.all([rank0.proc.exited, rank1.proc.exited, again.proc.exited]), [1, 1, 1]);
  assert.match(rank0.proc.output(), /DP group failed: duplicate DP rank 1/);
  assert.match(rank1.proc.output(), /refused the group: duplicate DP rank 1/);
  assert.match(again.proc.output(), /refused the group: duplicate DP rank 1/);
});

test("a rank with another --data-parallel-size fails the group, naming both sizes", { timeout: 30000 }, async () => {
  const [master, p0, p1] = (await freePorts(3)) as [number, number, number];
  const rank0 = startRank(0, 2, p0, master);
  const stray = startRank(1, 4, p1, master);
  assert.deepEqual(await Promise.all([rank0.proc.exited, stray.proc.exited]), [1, 1]);
  assert.match(stray.proc.output(), /DP size mismatch: rank 1 \(.*\) has --data-parallel-size 4, the master has 2/);
});

test("when a rank of a complete group dies, the others stop serving too (as vLLM's DP engines do)", { timeout: 30000 }, async () => {
  const [master, p0, p1] = (await freePorts(3)) as [number, number, number];
  const ranks = [startRank(0, 2, p0, master), startRank(1, 2, p1, master)];
  await Promise.all(ranks.map((r) => waitHealthy(health(r), r.proc, 15000)));
  ranks[1]?.proc.child.kill("SIGKILL");
  assert.equal(await ranks[0]?.proc.exited, 1);
  assert.match(ranks[0]?.proc.output() ?? "", /DP rank 1 disconnected: the engine cannot run without its DP group/);
});
