// Every default is declared once, in the zod schema: Pulumi.yaml's config block and `launch --help` are held to it.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "yaml";
import { flagHelp } from "../cli/flags";
import { LAUNCH_FLAGS } from "../cli/launchFlags";
import { parseTopology, TOPOLOGY_KEYS } from "../components/topology";

const DEFAULTS = parseTopology({});
const declared = (yaml.parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")) as { config: Record<string, { default?: unknown }> })
  .config;

test("Pulumi.yaml's defaults are the schema's: setting any of them changes nothing", () => {
  const withDefaults = Object.entries(declared).filter(([k, d]) => TOPOLOGY_KEYS.includes(k) && "default" in d);
  assert.ok(withDefaults.length >= 20, `${withDefaults.length} declared defaults`);
  for (const [key, d] of withDefaults) assert.deepEqual(parseTopology({ [key]: d.default }), DEFAULTS, key);
});

test("launch --help states the schema's defaults", () => {
  const help = flagHelp(LAUNCH_FLAGS);
  for (const [flag, value] of [
    ["--model", DEFAULTS.model],
    ["--base-port", DEFAULTS.ports.base],
    ["--base-channel-port", DEFAULTS.ports.channelBase],
    ["--dp-master-port", DEFAULTS.ports.dpMaster],
    ["--max-model-len", DEFAULTS.prefill.maxModelLen],
    ["--gpu-memory-utilization", DEFAULTS.prefill.gpuMemoryUtilization],
    ["--ucx-tls", DEFAULTS.prefill.nixl.ucxTls],
  ] as const)
    assert.match(help, new RegExp(`${flag} [A-Z]+ .*\\(default: ${String(value).replace(/[.]/g, "\\.")}\\)`), flag);
});
