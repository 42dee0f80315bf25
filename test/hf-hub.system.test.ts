// The stand-in hub against the real huggingface_hub client (`hf download`, PyPI): one fetch per file into an empty
// cache, none again once cached, and a gated repository refused without its token. Skips with one line when
// the client is not installed (python3 -m venv DIR && DIR/bin/pip install huggingface_hub; HF_CLI=DIR/bin/hf).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { startHub } from "../sim/hfHub";
import { withTempDir } from "./helpers/tempDir";

const HF = process.env.HF_CLI ?? "hf";
const run = promisify(execFile);
const available = (() => {
  try {
    require("node:child_process").execFileSync(HF, ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
const files = { "config.json": '{"model_type":"llama"}', "model.safetensors": "weights".repeat(1000) };

test(
  "hf download fetches a repository from the stand-in hub once per cache",
  { skip: available ? false : `no ${HF}: set HF_CLI to huggingface_hub's hf` },
  () =>
    withTempDir("gaudi-pd-hf-", async (dir) => {
      const hub = await startHub([
        { id: "tiny-org/tiny-model", files },
        { id: "tiny-org/gated", files, token: "hf_gatedTokenForTheStandInHub01" },
      ]);
      try {
        const env = { ...process.env, HF_ENDPOINT: hub.url, HF_HOME: path.join(dir, "hf"), HF_HUB_DISABLE_TELEMETRY: "1" };
        for (let k = 0; k < 2; k++) await run(HF, ["download", "tiny-org/tiny-model"], { env, timeout: 60_000 });
        assert.deepEqual(hub.fetches(), { "tiny-org/tiny-model/config.json": 1, "tiny-org/tiny-model/model.safetensors": 1 });
        const snapshots = path.join(dir, "hf", "hub", "models--tiny-org--tiny-model", "snapshots");
        const [snapshot] = fs.readdirSync(snapshots);
        assert.equal(fs.readFileSync(path.join(snapshots, snapshot, "model.safetensors"), "utf8"), files["model.safetensors"]);
        await assert.rejects(run(HF, ["download", "tiny-org/gated"], { env, timeout: 60_000 }), /gated|401|restricted/i);
        await run(HF, ["download", "tiny-org/gated"], { env: { ...env, HF_TOKEN: "hf_gatedTokenForTheStandInHub01" }, timeout: 60_000 });
        assert.equal(hub.fetches()["tiny-org/gated/model.safetensors"], 1);
      } finally {
        await hub.close();
      }
    }),
);
