// The node script's model fetch, run for real up to the point where instances would start: a hub model is fetched once
// with `hf download MODEL` into the topology's cache (the token only in hf's environment), a local path is checked
// instead, and every instance is told to start offline from that cache. A fake `hf` records how it was called.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { hfTokenFile } from "../components/names";
import { planCluster } from "../components/plan";
import { renderNodeScript } from "../components/render/nodeScript";
import { DEFAULT_HF_CACHE_DIR, parseTopology } from "../components/topology";
import { withTempDir } from "./helpers/tempDir";

const TOKEN = "hf_fetchStepTokenNeverShown0123456789";
/** Records its argv, HF_HOME and HF_TOKEN, shows progress on stderr, prints a snapshot path like hf does; exits $FAKE_HF_EXIT. */
const FAKE_HF = `#!/bin/bash
printf '%s\\n' "$@" >"$FAKE_HF_RECORD.argv"
printf 'HF_HOME=%s\\nHF_TOKEN=%s\\n' "\${HF_HOME-unset}" "\${HF_TOKEN-unset}" >"$FAKE_HF_RECORD.env"
echo "Fetching 2 files: 100%|##########| 2/2" >&2
echo "/snapshots/abc123"
exit "\${FAKE_HF_EXIT:-0}"
`;

interface Case {
  readonly name: string;
  /** The model, or a function of the temp dir for a local path. */
  readonly model: string | ((dir: string) => string);
  readonly token: boolean;
  /** A cache dir under the temp dir, or the default. */
  readonly customCache: boolean;
  readonly hfExit?: number;
  /** argv hf must have been called with; null: hf must not run. */
  readonly argv: readonly string[] | null;
  readonly exit: number;
  /** What the script's output must say. */
  readonly says: RegExp;
}

const CASES: readonly Case[] = [
  {
    name: "a bare hub name, default cache",
    model: "gpt2",
    token: false,
    customCache: false,
    argv: ["download", "gpt2"],
    exit: 0,
    says: /fetched model gpt2 in \d+ s: \/snapshots\/abc123/,
  },
  {
    name: "org/name with a token and a custom cache",
    model: "tiny-org/tiny-model",
    token: true,
    customCache: true,
    argv: ["download", "tiny-org/tiny-model"],
    exit: 0,
    says: /fetching model tiny-org\/tiny-model into .*\/hf-cache .*Fetching 2 files/s,
  },
  {
    name: "org/name without a token, custom cache",
    model: "org/name",
    token: false,
    customCache: true,
    argv: ["download", "org/name"],
    exit: 0,
    says: /fetched model org\/name/,
  },
  {
    name: "an existing local path",
    model: (dir) => path.join(dir, "model"),
    token: true,
    customCache: false,
    argv: null,
    exit: 0,
    says: /is a local path on this host: nothing to fetch/,
  },
  {
    name: "a missing local path",
    model: (dir) => path.join(dir, "no-such-model"),
    token: false,
    customCache: false,
    argv: null,
    exit: 1,
    says: /error: the model path \/.*\/no-such-model does not exist on this host/,
  },
  {
    name: "hf fails",
    model: "org/name",
    token: true,
    customCache: true,
    hfExit: 1,
    argv: ["download", "org/name"],
    exit: 1,
    says: /error: could not fetch model org\/name .*no instance was started/,
  },
];

for (const c of CASES)
  test(`model fetch: ${c.name}`, () =>
    withTempDir("gaudi-pd-fetch-", (dir) => {
      fs.mkdirSync(path.join(dir, "model"));
      fs.mkdirSync(path.join(dir, "bin"));
      fs.writeFileSync(path.join(dir, "bin", "hf"), FAKE_HF, { mode: 0o755 });
      const model = typeof c.model === "string" ? c.model : c.model(dir);
      const cache = c.customCache ? path.join(dir, "hf-cache") : DEFAULT_HF_CACHE_DIR;
      const topology = parseTopology({
        model,
        stateDir: path.join(dir, "state"),
        logDir: path.join(dir, "log"),
        ...(c.customCache ? { hfCacheDir: cache } : {}),
        ...(c.token ? { hfToken: TOKEN } : {}),
        prefill: { instancesPerNode: 2 },
      });
      const plan = planCluster(topology, { addresses: { "prefill-0": "10.0.0.1", "decode-0": "10.0.0.2", router: "10.0.0.3" } });
      for (const i of plan.instances)
        assert.deepEqual([i.env.HF_HOME, i.env.HF_HUB_OFFLINE], [cache, "1"], `${i.logName} starts offline from the cache`);
      const script = renderNodeScript(plan, "prefill-0");
      assert.ok(!script.includes(TOKEN), "the token is not in the script");
      if (c.token) {
        fs.mkdirSync(path.dirname(hfTokenFile(topology.stateDir)), { recursive: true });
        fs.writeFileSync(hfTokenFile(topology.stateDir), `HF_TOKEN=${TOKEN}\n`, { mode: 0o600 });
      }
      // The script up to its last line, which would run the verbs: then only the fetch step.
      const lines = script.trimEnd().split("\n");
      assert.equal(lines.pop(), 'main "$@"; exit');
      fs.writeFileSync(path.join(dir, "fetch.sh"), [...lines, "before_start"].join("\n"));
      const record = path.join(dir, "record");
      const r = spawnSync("bash", [path.join(dir, "fetch.sh")], {
        encoding: "utf8",
        env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, HOME: dir, FAKE_HF_RECORD: record, FAKE_HF_EXIT: String(c.hfExit ?? 0) },
      });
      const output = r.stdout + r.stderr;
      assert.equal(r.status, c.exit, output);
      assert.match(output, c.says);
      assert.ok(!output.includes(TOKEN), "the token is never shown");
      if (c.exit !== 0)
        assert.equal(
          r.stderr
            .trim()
            .split("\n")
            .filter((l) => l.includes("error:")).length,
          1,
          "one error line",
        );
      if (c.argv === null) {
        assert.ok(!fs.existsSync(`${record}.argv`), "hf was not called");
        return;
      }
      assert.deepEqual(
        fs.readFileSync(`${record}.argv`, "utf8").trimEnd().split("\n"),
        c.argv,
        "hf download MODEL, the token not among its arguments",
      );
      assert.equal(fs.readFileSync(`${record}.env`, "utf8"), `HF_HOME=${cache}\nHF_TOKEN=${c.token ? TOKEN : "unset"}\n`);
    }));

test("a hub model needs hf at install: without it install fails naming what to install", () =>
  withTempDir("gaudi-pd-fetch-", (dir) => {
    const topology = parseTopology({ stateDir: path.join(dir, "state"), logDir: path.join(dir, "log"), vllmCommand: "/bin/true" });
    const plan = planCluster(topology, { addresses: { "prefill-0": "10.0.0.1", "decode-0": "10.0.0.2", router: "10.0.0.3" } });
    fs.writeFileSync(path.join(dir, "node.sh"), renderNodeScript(plan, "prefill-0"));
    const r = spawnSync("bash", [path.join(dir, "node.sh"), "install"], {
      encoding: "utf8",
      env: { PATH: "/usr/bin:/bin", HOME: dir, GAUDI_PD_MODE: "supervised" },
    });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /huggingface_hub's CLI \(hf or huggingface-cli\) is neither beside \/bin\/true nor on PATH .*pip install huggingface_hub/);
  }));
