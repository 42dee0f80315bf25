// `gaudi-pd launch` for real: the node script runs here with the stand-in first on PATH, like the seed on a Gaudi node.
import { test, after } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { STAND_IN } from "../sim/standIn";
import { runCli } from "./helpers/runCli";
import { TEST_MODEL } from "./harness/testHostCluster";
import { portBlock } from "./helpers/ports";

const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "gaudi-pd-launch-"));
const TOKEN = "hf_launchTestToken0123456789abcdef";
/** Decode shifts each base by +1000: serve base+1000.., side channel base+3000.., DP master base+5000, all outside the ephemeral range. */
const base = portBlock(5001);
const [serve0, serve1] = [base + 1000, base + 1001];
const ports = { "--base-port": base, "--base-channel-port": base + 2000, "--dp-master-port": base + 4000 };
// A local model: launch checks it instead of fetching it (model-fetch.system.test.ts runs the fetch).
const flags = [
  ..."-r decode -n 2 -d 2 -m".split(" "),
  TEST_MODEL,
  ...Object.entries(ports).flatMap(([flag, port]) => [flag, String(port)]),
  "--log-dir",
  logDir,
];
const env = { PATH: `${path.dirname(STAND_IN)}:${process.env.PATH}`, HF_TOKEN: TOKEN };
after(() => {
  runCli(["launch", ...flags, "--stop"], env);
  fs.rmSync(logDir, { recursive: true, force: true });
});

const health = async (port: number) => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.status ?? 0;
const filesUnder = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));

test("launch starts the node's instances, waits until healthy and lists the servers; --stop frees every port", async () => {
  const r = runCli(["launch", ...flags], env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /All decode servers launched successfully/);
  assert.match(r.stdout, new RegExp(`Server 1: localhost:${serve0}\nServer 2: localhost:${serve1}`));
  assert.deepEqual([await health(serve0), await health(serve1)], [200, 200]);

  const again = runCli(["launch", ...flags], env);
  assert.equal(again.code, 0);
  assert.match(again.stdout + again.stderr, /0 started, 2 already running/);

  const logs = fs.readdirSync(logDir).filter((f) => f.endsWith(".log"));
  assert.equal(logs.length, 2);
  for (const f of logs) assert.match(f, /^vllm_server_\d{8}_\d{6}_decode_[01]\.log$/);
  const holding = filesUnder(logDir).filter((f) => fs.readFileSync(f, "utf8").includes(TOKEN));
  assert.deepEqual(holding, [path.join(logDir, ".gaudi-pd", "secrets", "hf-token.env")], "the token lives in its 0600 file only");
  assert.equal(fs.statSync(holding[0]).mode & 0o777, 0o600);
  assert.ok(!(r.stdout + r.stderr).includes(TOKEN));

  // Stopped with fewer -n than the start: the installed script stops both instances, and the token file goes too.
  const fewer = flags.map((f, k) => (flags[k - 1] === "-n" || flags[k - 1] === "-d" ? "1" : f));
  const stop = runCli(["launch", ...fewer, "--stop"], env);
  assert.equal(stop.code, 0, stop.stderr);
  assert.deepEqual([await health(serve0), await health(serve1)], [0, 0]);
  assert.ok(!fs.existsSync(holding[0]), "launch --stop removes the token file");
});
