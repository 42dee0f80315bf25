// The stand-in hub against the real huggingface_hub client (`hf download`, PyPI): one fetch per file into an empty
// cache, none again once cached, each client's fetches counted apart, and a gated repository refused without its
// token. The client is the pinned one simulate uses (scripts/install-hf.sh, installed on first use).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { startHub } from "../sim/hfHub";
import { installHf } from "../sim/toolInstall";
import { withTempDir } from "./helpers/tempDir";

const HF = installHf();
const run = promisify(execFile);
const files = { "config.json": '{"model_type":"llama"}', "model.safetensors": "weights".repeat(1000) };

test("hf download fetches a repository from the stand-in hub once per cache", () =>
  withTempDir("gaudi-pd-hf-", async (dir) => {
    const hub = await startHub([
      { id: "tiny-org/tiny-model", files },
      { id: "tiny-org/gated", files, token: "hf_gatedTokenForTheStandInHub01" },
    ]);
    try {
      const env = { ...process.env, HF_ENDPOINT: hub.url, HF_HOME: path.join(dir, "hf"), HF_HUB_DISABLE_TELEMETRY: "1" };
      for (let k = 0; k < 2; k++) await run(HF, ["download", "tiny-org/tiny-model"], { env, timeout: 60_000 });
      const once = { "tiny-org/tiny-model/config.json": 1, "tiny-org/tiny-model/model.safetensors": 1 };
      assert.deepEqual(hub.fetches(), once);
      // Another cache fetching under its own name is counted apart.
      const other = { ...env, HF_ENDPOINT: hub.urlFor("node-b"), HF_HOME: path.join(dir, "hf-b") };
      await run(HF, ["download", "tiny-org/tiny-model"], { env: other, timeout: 60_000 });
      assert.deepEqual([hub.fetches(), hub.fetches("node-b"), hub.clients()], [once, once, ["", "node-b"]]);
      const snapshots = path.join(dir, "hf", "hub", "models--tiny-org--tiny-model", "snapshots");
      const [snapshot] = fs.readdirSync(snapshots);
      assert.equal(fs.readFileSync(path.join(snapshots, snapshot, "model.safetensors"), "utf8"), files["model.safetensors"]);
      await assert.rejects(run(HF, ["download", "tiny-org/gated"], { env, timeout: 60_000 }), /gated|401|restricted/i);
      await run(HF, ["download", "tiny-org/gated"], { env: { ...env, HF_TOKEN: "hf_gatedTokenForTheStandInHub01" }, timeout: 60_000 });
      assert.equal(hub.fetches()["tiny-org/gated/model.safetensors"], 1);
    } finally {
      await hub.close();
    }
  }));
