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
const declared = (yaml.parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")) as { config: Record<string, { default?: unknown }> }).config;

/** The schema's default of a top-level key: its own, or (for a shared setting) what both roles get. */
function schemaDefault(key: string): unknown {
  const own = (DEFAULTS as unknown as Record<string, unknown>)[key];
  const value = own !== undefined ? own : (DEFAULTS.prefill as unknown as Record<string, unknown>)[key];
  return value === null ? "" : value; // Pulumi.yaml declares "off" paths as "".
}

test("Pulumi.yaml declares every topology key (the HF token, an optional secret, aside)", () => {
  const missing = TOPOLOGY_KEYS.filter((k) => k !== "hfToken" && !(k in declared));
  assert.deepEqual(missing, []);
});

test("every scalar default in Pulumi.yaml is the schema's default", () => {
  const scalars = Object.entries(declared).filter(([k, d]) => TOPOLOGY_KEYS.includes(k) && "default" in d && typeof d.default !== "object");
  assert.ok(scalars.length >= 15, `${scalars.length} scalar defaults`);
  for (const [key, d] of scalars) assert.equal(d.default, schemaDefault(key), key);
});

test("every object default in Pulumi.yaml is empty, so the schema's defaults stand", () => {
  for (const [key, d] of Object.entries(declared)) if (typeof d.default === "object" && d.default !== null) assert.deepEqual(d.default, {}, key);
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
