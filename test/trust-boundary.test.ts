// The trust boundary, as an attacker and a careless user would test it: a table of bad inputs across stack files,
// launch flags and the program under mocks. Each is refused with one line per problem naming the field or flag,
// no stack trace, no echoed value longer than 80 characters, no resource registered; and `plan` prints exactly
// the program's lines for every stack the program refuses.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "yaml";
import { launchCommand, planLaunch } from "../cli/launch";
import { parseFlags } from "../cli/flags";
import { LAUNCH_FLAGS, launchFromFlags } from "../cli/launchFlags";
import { CliError } from "../cli/errors";
import { planStack } from "../cli/planCommand";
import { settleProgram, stackConfig, TYPES } from "./helpers/pulumiMocks";

const stacksDir = fs.mkdtempSync(path.join(os.tmpdir(), "gaudi-pd-trust-"));
after(() => fs.rmSync(stacksDir, { recursive: true, force: true }));

type Config = Record<string, unknown>;
type Edit = (c: Config) => void;

const LONG = "a".repeat(100 * 1024);
const PRIVATE_KEY =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----";
const INJECT = "x\ntouch /tmp/gaudi-pd-pwned";

const at = (c: Config, key: string) => c[`gaudi-pd:${key}`] as Record<string, any>;
const setTop =
  (key: string, value: unknown): Edit =>
  (c) =>
    void (c[`gaudi-pd:${key}`] = value);
const setIn =
  (key: string, field: string, value: unknown): Edit =>
  (c) =>
    void (at(c, key)[field] = value);
const host =
  (list: "prefill" | "decode", k: number, field: string, value: unknown): Edit =>
  (c) =>
    void (at(c, "infra")[list][k][field] = value);
const router =
  (field: string, value: unknown): Edit =>
  (c) =>
    void (at(c, "infra").router[field] = value);

/** Bad values per field: each must be refused wherever it comes from. */
const HOSTILE_PATHS = [
  "relative/dir",
  "/var/log/a b",
  `/var/log/${INJECT}`,
  "/var/log/../../etc",
  "/var/log/$(touch x)",
  "-rf",
  `/${LONG}`,
  "/var/`id`",
  "/var/log/",
];
const HOSTILE_ADDRESSES = ["-oProxyCommand=sh", "10.0.0.1\ntouch /tmp/x", "not an address!", "10.0.0.1;id", "$(id)", LONG, "300.300.300.300", ""];
const HOSTILE_USERS = ["-oProxyCommand=sh", "root;id", "a b", "$(id)", "x".repeat(33), "9lives", ""];
const HOSTILE_MODELS = ["org/name/extra", "-model", "a--b", "model\nid", "$(touch x)", LONG, "relative/../x", "org/.hidden", ""];
const HOSTILE_CIDRS = ["300.300.300.300/99", "10.0.0.0/33", "10.0.0.0", "010.0.0.0/8", "::/0", "10.0.0.0/8\n"];

/** [case name, edit of the hosts stack] for config the program and `plan` must both refuse. */
const CONFIG_CASES: Array<[string, Edit]> = [
  ...HOSTILE_PATHS.flatMap((v, k): Array<[string, Edit]> => [
    [`logDir #${k}`, setTop("logDir", v)],
    [`stateDir #${k}`, setTop("stateDir", v)],
    [`hfCacheDir #${k}`, setTop("hfCacheDir", v)],
  ]),
  ...["relative/inc.json", `/opt/${INJECT}`, "/opt/../inc.json", `/${LONG}`].flatMap((v, k): Array<[string, Edit]> => [
    [`incConfig #${k}`, setTop("incConfig", v)],
    [`decode.recipeCacheDir #${k}`, setIn("decode", "recipeCacheDir", v)],
  ]),
  ...["vllm serve", "-vllm", "$(id)", "relative/vllm", `/usr/bin/${INJECT}`].map((v, k): [string, Edit] => [
    `vllmCommand #${k}`,
    setTop("vllmCommand", v),
  ]),
  ...HOSTILE_MODELS.map((v, k): [string, Edit] => [`model #${k}`, setTop("model", v)]),
  ...HOSTILE_ADDRESSES.flatMap((v, k): Array<[string, Edit]> => [
    [`prefill host address #${k}`, host("prefill", 0, "address", v)],
    [`decode host privateAddress #${k}`, host("decode", 1, "privateAddress", v)],
    [`router host address #${k}`, router("address", v)],
  ]),
  ...HOSTILE_USERS.flatMap((v, k): Array<[string, Edit]> => [
    [`sshUser #${k}`, setIn("infra", "sshUser", v)],
    [`host user #${k}`, host("prefill", 1, "user", v)],
  ]),
  ...["not an address!", "-0.0.0.0", "0.0.0.0\nid", LONG].map((v, k): [string, Edit] => [
    `router bind address #${k}`,
    setTop("router", { bindAddress: v }),
  ]),
  ...[
    ["bad key", "x"],
    ["1X", "x"],
    ["A-B", "x"],
    ["OK", "two\nlines"],
    ["OK", "nul\u0000"],
    ["OK", "x".repeat(9000)],
    ["HF_TOKEN", "hf_x"],
    ["UCX_TLS", "tcp"],
  ].map(([k, v], n): [string, Edit] => [`env #${n}`, setTop("env", { [k]: v })]),
  ...[
    ["nodes", 0],
    ["nodes", "two"],
    ["instancesPerNode", 9],
    ["tpSize", 1.5],
    ["dpSize", 12],
    ["gpuMemoryUtilization", 2],
    ["maxNumBatchedTokens", 64],
    ["asyncScheduling", true],
  ].map(([f, v]): [string, Edit] => [`prefill.${f} = ${String(v)}`, setIn("prefill", String(f), v)]),
  ...[
    ["base", 80],
    ["channelBase", 70000],
    ["dpMaster", "x"],
    ["base", 65000],
  ].map(([f, v]): [string, Edit] => [`ports.${f} = ${String(v)}`, setTop("ports", { [String(f)]: v })]),
  ...[
    ["placement", "decode-7"],
    ["placement", "$(id)"],
    ["port", 8300],
    ["prefillPolicy", "fastest"],
    ["metricsPort", 8301],
    ["host", "0.0.0.0"],
  ].map(([f, v]): [string, Edit] => [`router.${f} = ${String(v)}`, setTop("router", { placement: "prefill-0", [String(f)]: v })]),
  ["unknown top-level key", setTop("modle", "x")],
  ["unknown key with a hostile name", setTop("prefill", { [`$(touch /tmp/x)${LONG}`]: 1, nodes: 2, instancesPerNode: 8, dpSize: 16 })],
  ["nixl ucxTls with a space", setTop("nixl", { ucxTls: "rc, ud" })],
  ["nixl backend unknown", setTop("nixl", { backend: "TCP" })],
  ["infra kind unknown", setTop("infra", { kind: "gcp" })],
  ["hosts: one machine in both roles without colocate", host("decode", 0, "privateAddress", "192.0.2.10")],
  ["hosts: one machine twice in a role", host("prefill", 1, "address", "203.0.113.10")],
  ["hosts: a public address of one host is the private one of another", host("decode", 0, "address", "192.0.2.11")],
  [
    "hosts: a dedicated router on a prefill machine on its serve port",
    (c) => {
      at(c, "infra").router = { address: "203.0.113.10" };
      c["gaudi-pd:router"] = { port: 8300 };
    },
  ],
  [
    "hosts: router metrics on a prefill machine's side channel",
    (c) => {
      at(c, "infra").router = { address: "203.0.113.10" };
      c["gaudi-pd:router"] = { metricsPort: 4300 };
    },
  ],
  ["hosts: fewer hosts than nodes", (c) => void at(c, "infra").decode.pop()],
  ["hosts: too many hosts listed", (c) => void Array.from({ length: 70 }, (_, k) => at(c, "infra").prefill.push({ address: `198.51.100.${k}` }))],
  [
    "AWS: a private key pasted as the public key",
    setTop("infra", { kind: "aws", ami: { id: "ami-0123abcd" }, sshCidrs: ["203.0.113.0/24"], publicKey: PRIVATE_KEY }),
  ],
  ["AWS: no ami", setTop("infra", { kind: "aws", sshCidrs: ["203.0.113.0/24"] })],
  ...HOSTILE_CIDRS.map((v, k): [string, Edit] => [
    `AWS: sshCidrs #${k}`,
    setTop("infra", { kind: "aws", ami: { id: "ami-0123abcd" }, sshCidrs: [v] }),
  ]),
  ["AWS: sshUser with a leading dash", setTop("infra", { kind: "aws", ami: { id: "ami-0123abcd" }, sshCidrs: ["203.0.113.0/24"], sshUser: "-oX" })],
  ["AWS: region with a newline", setTop("infra", { kind: "aws", ami: { id: "ami-0123abcd" }, sshCidrs: ["203.0.113.0/24"], region: "us-east-1\nx" })],
];

/** Stack-file cases only a file can hold: YAML text and stack names. */
const bomb = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ..."bcdefghi".split("").map((c, k) => `${c}: &${c} [${Array(9).fill(`*${"abcdefghi"[k]}`).join(",")}]`),
].join("\n");
const FILE_CASES: Array<[string, string, string]> = [
  ["a YAML alias bomb", "bomb", bomb],
  ["a YAML syntax error", "syntax", "config:\n  gaudi-pd:model: [unclosed\n"],
  ["a top-level list", "list", "- 1\n- 2\n"],
  ["config as a list", "configlist", "config: [1, 2]\n"],
  ["a __proto__ key", "proto", "config:\n  gaudi-pd:__proto__: {model: x}\n"],
  ["a nested constructor key", "ctor", "config:\n  gaudi-pd:prefill: {constructor: {nodes: 2}}\n"],
  ["a key with two colons", "extra", "config:\n  gaudi-pd:model:extra: x\n"],
  ["a key without a namespace", "nons", "config:\n  model: x\n"],
  ["a duplicate key", "dup", "config:\n  gaudi-pd:model: a\n  gaudi-pd:model: b\n"],
  ["a 2 MB file", "huge", `config:\n  gaudi-pd:model: ${"a".repeat(2 * 1024 * 1024)}\n`],
  ["the token in plain text", "plaintoken", "config:\n  gaudi-pd:hfToken: hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345\n"],
  ["a .nan number", "nan", "config:\n  gaudi-pd:maxModelLen: .nan\n"],
  ["an .inf number", "inf", "config:\n  gaudi-pd:maxNumSeqs: .inf\n"],
];
const BAD_STACK_NAMES = ["x/../../../tmp/f", "../stacks/hosts", "a b", "..", `${"s".repeat(101)}`, "-rf"];

/** Launch flags the seed launcher's users would type wrong, or an attacker would. */
const FLAG_CASES: string[][] = [
  ["--model", "$(touch /tmp/x)"],
  ["--model", LONG],
  ["--model", "-m"],
  ["--log-dir", "/tmp/a b"],
  ["--log-dir", `/tmp/${INJECT}`],
  ["--state-dir", "/tmp/$(id)"],
  ["--node-ip", "-oX"],
  ["--node-ip", "10.0.0.1\nid"],
  ["--dp-master-ip", "not an address!"],
  ["--dp-master-ip", LONG],
  ["--inc", `/x/${INJECT}`],
  ["--recipe-cache", "/x/\u0000"],
  ["--gpu-memory-utilization", "1.5"],
  ["--gpu-memory-utilization", "abc"],
  ["--num-instances", "0"],
  ["--tp-size", "9"],
  ["--dp-size", "3", "-n", "2"],
  ["--role", "router"],
  ["--role", LONG],
  ["--ucx-tls", "rc ud"],
  ["--nixl-backend", "TCP"],
  ["--base-port", "80"],
  ["--node-rank", "2", "--node-size", "2"],
  [`--${LONG}`],
  ["--async"],
  ["--num-instances", "-1"],
];

/** Where a bad input came from, and what it printed. */
interface Outcome {
  readonly lines: readonly string[];
  readonly exitCode: number;
}

/** What the CLI prints for an error: main's formatting of a CliError (exit code 2 unless said otherwise). */
async function cli(run: () => unknown): Promise<Outcome> {
  try {
    await run();
  } catch (e) {
    if (e instanceof CliError) return { lines: e.problems.map((p) => `gaudi-pd: error: ${p}`), exitCode: e.exitCode };
    return { lines: [`internal error: ${(e as Error).stack}`], exitCode: 1 };
  }
  return { lines: [], exitCode: 0 };
}

/** Every string of the input longer than 80 characters: none may appear (even in part) in the output. */
function longStrings(v: unknown): string[] {
  if (typeof v === "string") return v.length > 80 ? [v] : [];
  if (Array.isArray(v)) return v.flatMap(longStrings);
  if (typeof v === "object" && v !== null) return [...Object.keys(v).filter((k) => k.length > 80), ...Object.values(v).flatMap(longStrings)];
  return [];
}

function assertClean(o: Outcome, input: unknown, names: RegExp) {
  assert.notEqual(o.exitCode, 0, "refused");
  assert.ok(o.lines.length > 0, "at least one line");
  for (const line of o.lines) {
    assert.doesNotMatch(line, /internal error|^\s+at |\n/, `no stack trace, one line:\n${o.lines.join("\n")}`);
    assert.match(line, names, `names a field or flag:\n${o.lines.join("\n")}`);
  }
  const text = o.lines.join("\n");
  for (const s of longStrings(input))
    for (let k = 0; k + 81 <= Math.min(s.length, 400); k += 40) assert.ok(!text.includes(s.slice(k, k + 81)), "no long echo");
}

/** The stack file `plan` reads for a config: secrets as `secure:` values, as `pulumi config set --secret` writes them. */
function writeStack(name: string, config: Config, secretKeys: readonly string[]): void {
  const file = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, secretKeys.includes(k) ? { secure: "v1:AAAA" } : v]));
  fs.writeFileSync(path.join(stacksDir, `Pulumi.${name}.yaml`), yaml.stringify({ config: file }));
}

let rows = 0;
for (const [name, edit] of CONFIG_CASES) {
  rows++;
  test(`config: ${name}`, async () => {
    const { config, secretKeys } = stackConfig("hosts", edit);
    const { error, resources } = await settleProgram(config, secretKeys);
    assert.ok(error instanceof pulumi.RunError, `the program fails with a RunError, got ${error?.name}: ${error?.message.slice(0, 500)}`);
    assert.deepEqual(
      resources.map((r) => r.type),
      [TYPES.stack],
      "no resource registered",
    );
    const programLines = error.message.split("\n");
    assertClean({ lines: programLines, exitCode: 1 }, config, /^gaudi-pd:[\w.[\]-]*: /);
    const stack = `case${rows}`;
    writeStack(stack, config, secretKeys);
    const planned = await cli(() => planStack(stack, stacksDir));
    assert.deepEqual(
      planned.lines,
      programLines.map((l) => `gaudi-pd: error: ${l}`),
      "plan prints the program's lines",
    );
    assert.equal(planned.exitCode, 2);
  });
}

for (const [name, stack, text] of FILE_CASES) {
  rows++;
  test(`stack file: ${name}`, async () => {
    fs.writeFileSync(path.join(stacksDir, `Pulumi.${stack}.yaml`), text);
    const o = await cli(() => planStack(stack, stacksDir));
    assertClean(o, text, new RegExp(`^gaudi-pd: error: (gaudi-pd:|${stacksDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/Pulumi\\.${stack}\\.yaml)`));
  });
}

for (const stack of BAD_STACK_NAMES) {
  rows++;
  test(`stack name: ${stack.slice(0, 30)}`, async () =>
    assertClean(await cli(() => planStack(stack, stacksDir)), stack, /^gaudi-pd: error: --stack: /));
}

for (const argv of FLAG_CASES) {
  rows++;
  test(`launch flags: ${argv.join(" ").slice(0, 60).replace(/\n/g, "\\n")}`, async () => {
    const o = await cli(() => launchCommand([...argv, "--dry-run"]));
    assertClean(o, argv, /^gaudi-pd: error: (--[a-z-]+(\/--[a-z-]+)*|HPUs per node|a \d+-character string|"[^"]*"): /);
  });
}

test("the table has at least 120 distinct bad inputs", () => {
  assert.ok(rows >= 120, `${rows} rows`);
  assert.equal(new Set(CONFIG_CASES.map(([n]) => n)).size, CONFIG_CASES.length, "distinct config case names");
});

test("Why: unclear messages made clear (.nan, a missing ami, a bad env key) and --gpu-memory-utilization .5 accepted", async () => {
  const lines = async (config: Config) => {
    const stack = `why${Object.keys(config).length}${Math.random().toString(36).slice(2, 8)}`;
    fs.writeFileSync(path.join(stacksDir, `Pulumi.${stack}.yaml`), typeof config.text === "string" ? config.text : yaml.stringify({ config }));
    return (await cli(() => planStack(stack, stacksDir))).lines;
  };
  assert.deepEqual(await lines({ text: "config:\n  gaudi-pd:maxModelLen: .nan\n" }), [
    "gaudi-pd: error: gaudi-pd:maxModelLen: must be a finite number, got .nan",
  ]);
  assert.deepEqual(await lines({ "gaudi-pd:infra": { kind: "aws", sshCidrs: ["203.0.113.0/24"] } }), [
    "gaudi-pd: error: gaudi-pd:infra.ami: is required: {id} or {owner, name}",
  ]);
  assert.deepEqual(await lines({ "gaudi-pd:env": { "BAD-KEY": "x" } }), [
    'gaudi-pd: error: gaudi-pd:env: key "BAD-KEY": must be a POSIX environment variable name ([A-Za-z_][A-Za-z0-9_]*)',
  ]);
  const { target, raw, problems } = launchFromFlags(parseFlags(["--gpu-memory-utilization", ".5"], LAUNCH_FLAGS));
  const { plan } = planLaunch(target, raw, problems);
  assert.equal(plan.topology.prefill.gpuMemoryUtilization, 0.5);
});
