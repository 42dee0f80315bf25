// Every default and description is declared once, in the zod schema: Pulumi.yaml's config block and `launch --help` are held to it.
// Held by a test, not generated: Pulumi.yaml stays a hand-kept file with its comments, and a failure names the key and the text wanted.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "yaml";
import { z } from "zod";
import { flagHelp } from "../cli/flags";
import { FIELD_FLAGS, LAUNCH_FLAGS, launchFromFlags } from "../cli/launchFlags";
import { parseTopology, TOPOLOGY_KEYS, TOPOLOGY_SCHEMA } from "../components/topology";

const DEFAULTS = parseTopology({});
type Declared = { default?: unknown; description?: string };
const declared = (yaml.parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")) as { config: Record<string, Declared> }).config;
/** Undeclared on purpose: Pulumi requires a declared secret to have no default, and this one is optional. */
const UNDECLARED = ["hfToken"];
/** Pulumi.yaml's `description:` lines stay under the house's 150 characters. */
const MAX_DESCRIPTION = 130;

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
  return s;
}

/** Every field of the schema, nested ones included (object blocks, array elements, union options), with its path. */
function fieldsOf(schema: z.ZodType, at = ""): Array<[string, z.ZodType]> {
  const s = unwrap(schema);
  const blocks = s instanceof z.ZodObject ? [s] : s instanceof z.ZodArray ? [s.element] : s instanceof z.ZodUnion ? s.options : [];
  return (blocks as z.ZodType[])
    .map(unwrap)
    .filter((b): b is z.ZodObject => b instanceof z.ZodObject)
    .flatMap((b) =>
      Object.entries(b.shape as Record<string, z.ZodType>).flatMap(([key, field]): Array<[string, z.ZodType]> => [
        [`${at}${key}`, field],
        ...fieldsOf(field, `${at}${key}${unwrap(field) instanceof z.ZodArray ? "[]" : ""}.`),
      ]),
    );
}

test("every schema field, nested ones included, has a one-line description", () => {
  const fields = fieldsOf(TOPOLOGY_SCHEMA);
  for (const p of [
    "prefill.nixl.ucxTls",
    "decode.asyncScheduling",
    "router.placement",
    "infra.ami.name",
    "infra.pd[].privateAddress",
    "verify.requests",
  ])
    assert.ok(
      fields.some(([f]) => f === p),
      `the walk reaches ${p}`,
    );
  const missing = fields.filter(([, f]) => !f.description).map(([p]) => p);
  assert.deepEqual(missing, [], "fields without a description");
  for (const [p, f] of fields) assert.match(f.description ?? "", new RegExp(`^[^\\n]{1,${MAX_DESCRIPTION}}$`), p);
});

test("the walk finds a field left undescribed", () => {
  const probe = z.strictObject({ a: z.number().describe("a"), b: z.array(z.strictObject({ c: z.string() })).describe("b") });
  assert.deepEqual(
    fieldsOf(probe)
      .filter(([, f]) => !f.description)
      .map(([p]) => p),
    ["b[].c"],
  );
});

test("Pulumi.yaml declares every topology key with the schema's description", () => {
  for (const key of TOPOLOGY_KEYS) {
    const wanted = (TOPOLOGY_SCHEMA.shape as Record<string, z.ZodType>)[key].description;
    if (UNDECLARED.includes(key)) assert.equal(declared[key], undefined, key);
    else assert.equal(declared[key]?.description, wanted, `Pulumi.yaml config.${key}.description should be ${JSON.stringify(wanted)}`);
  }
});

test("Pulumi.yaml's defaults are the schema's: setting any of them changes nothing", () => {
  const withDefaults = Object.entries(declared).filter(([k, d]) => TOPOLOGY_KEYS.includes(k) && "default" in d);
  assert.ok(withDefaults.length >= 20, `${withDefaults.length} declared defaults`);
  for (const [key, d] of withDefaults) assert.deepEqual(parseTopology({ [key]: d.default }), DEFAULTS, key);
});

test("launch --help states the schema's default for every flag that leaves its field to the schema", () => {
  const help = flagHelp(LAUNCH_FLAGS);
  const launchRaw = launchFromFlags(new Map()).raw;
  const at = (root: unknown, field: string) => field.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], root);
  const checked: string[] = [];
  for (const [field, flag] of FIELD_FLAGS) {
    const spec = LAUNCH_FLAGS.find((f) => f.name === flag);
    const stated = /\(default: ([^)]+)\)$/.exec(spec?.help ?? "")?.[1];
    // Launch's own defaults (--log-dir ., --state-dir under it, --node-size) are set in the raw config, not left to the schema.
    if (!spec || stated === undefined || (at(launchRaw, field) ?? at(launchRaw.prefill, field)) !== undefined) continue;
    assert.equal(stated, String(at(DEFAULTS.prefill, field) ?? at(DEFAULTS, field)), flag);
    assert.match(help, new RegExp(`${flag} [A-Z]+ .*\\(default: ${stated.replace(/[.]/g, "\\.")}\\)`), flag);
    checked.push(flag);
  }
  assert.ok(checked.length >= 15, `${checked.length} flags checked: ${checked.join(" ")}`);
});
