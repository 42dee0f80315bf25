// Bad input, config and flags alike: exit code 2, one line per problem naming the field or flag, no stack trace.
import { test, after } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { REPO, runCli } from "./helpers/runCli";

const stacksDir = fs.mkdtempSync(path.join(os.tmpdir(), "gaudi-pd-stacks-"));
after(() => fs.rmSync(stacksDir, { recursive: true, force: true }));

const multiNode = {
  "gaudi-pd:prefill": { nodes: 2, instancesPerNode: 8, dpSize: 16 },
  "gaudi-pd:decode": { nodes: 2, instancesPerNode: 8, dpSize: 16 },
};
const hosts = (prefill: number, decode: number) => ({
  kind: "hosts",
  prefill: Array.from({ length: prefill }, (_, k) => ({ address: `192.0.2.${10 + k}` })),
  decode: Array.from({ length: decode }, (_, k) => ({ address: `192.0.2.${20 + k}` })),
  router: { address: "192.0.2.30" },
});

/** A stack config written to a file of its own, planned through the CLI. */
function planConfig(name: string, config: object) {
  fs.writeFileSync(path.join(stacksDir, `Pulumi.${name}.yaml`), yaml.dump({ config }));
  return runCli(["plan", "--stack", name, "--stacks-dir", stacksDir]);
}

const CLI_CASES: Array<[string, string[], RegExp]> = [
  ["misspelt flag", ["launch", "--num-instance", "3"], /^gaudi-pd: error: --num-instance: unknown flag \(did you mean --num-instances\?\)$/m],
  ["unknown role", ["launch", "--role", "router"], /^gaudi-pd: error: --role: must be prefill or decode, got "router"$/m],
  ["zero instances", ["launch", "-n", "0"], /^gaudi-pd: error: --num-instances: must be at least 1, got 0$/m],
  ["non-numeric instances", ["launch", "-n", "abc"], /^gaudi-pd: error: --num-instances: must be a number, got "abc"$/m],
  [
    "dp not 1 or n × nodes",
    ["launch", "-n", "8", "-d", "12", "--node-size", "2"],
    /^gaudi-pd: error: --dp-size: must be 1 or --num-instances × --node-size \(16\), got 12$/m,
  ],
  [
    "node rank past node size",
    ["launch", "--node-rank", "2", "--node-size", "2"],
    /^gaudi-pd: error: --node-rank: must be less than --node-size \(2\), got 2$/m,
  ],
  ["privileged base port", ["launch", "--base-port", "80"], /^gaudi-pd: error: --base-port: must be at least 1024, got 80$/m],
  ["base port past 65535", ["launch", "--base-port", "99999"], /^gaudi-pd: error: --base-port: must be at most 65535, got 99999$/m],
  [
    "decode ports pushed past 65535",
    ["launch", "-r", "decode", "--base-port", "65000"],
    /^gaudi-pd: error: --base-port\/--base-channel-port\/--dp-master-port: decode-0 decode instances \(serve\) would listen on 66000, outside 1024-65535$/m,
  ],
  [
    "unknown buffer device",
    ["launch", "--nixl-buffer-device", "gpu"],
    /^gaudi-pd: error: --nixl-buffer-device: must be one of cpu \| hpu, got "gpu"$/m,
  ],
  ["unknown NIXL backend", ["launch", "--nixl-backend", "NCCL"], /^gaudi-pd: error: --nixl-backend: must be one of UCX \| LIBFABRIC, got "NCCL"$/m],
  [
    "malformed UCX transports",
    ["launch", "--ucx-tls", "rc ud"],
    /^gaudi-pd: error: --ucx-tls: must be a comma-separated list of UCX transports, got "rc ud"$/m,
  ],
  [
    "more HPUs than a node has",
    ["launch", "-n", "8", "-t", "2", "-d", "8"],
    /^gaudi-pd: error: --num-instances: 8 instances × --tp-size 2 need 16 HPUs, more than the 8 HPUs of a node/m,
  ],
  [
    "memory utilization above 1",
    ["launch", "--gpu-memory-utilization", "1.5"],
    /^gaudi-pd: error: --gpu-memory-utilization: must be at most 1, got 1\.5$/m,
  ],
  ["async on prefill", ["launch", "--async"], /^gaudi-pd: error: --async: async scheduling is for --role decode only$/m],
  ["flag without its value", ["launch", "--model"], /^gaudi-pd: error: --model: needs a value \(MODEL\)$/m],
  ["--json without --dry-run", ["launch", "--json"], /^gaudi-pd: error: --json: only with --dry-run$/m],
  [
    "address with a space",
    ["launch", "--node-ip", "10.0.0.1 rm"],
    /^gaudi-pd: error: --node-ip: must be an IPv4 or IPv6 address or a DNS name, got "10.0.0.1 rm"$/m,
  ],
  [
    "too few batched tokens for a bucket",
    ["launch", "--max-num-batched-tokens", "64"],
    /^gaudi-pd: error: --max-num-batched-tokens: must be at least 128 \(one prompt bucket\), got 64$/m,
  ],
  ["value given to a switch", ["launch", "--enforce-eager=yes"], /^gaudi-pd: error: --enforce-eager: takes no value$/m],
  [
    "serve and channel ports collide",
    ["launch", "--base-channel-port", "8300"],
    /^gaudi-pd: error: --base-port\/--base-channel-port\/--dp-master-port: prefill-0 port 8300 is used by both prefill-0 prefill instance 0 \(serve\) and prefill-0 prefill instance 0 \(NIXL side channel\)$/m,
  ],
  [
    "TP workers' side channels collide",
    ["launch", "-n", "2", "-t", "2", "--nixl-side-channel-layout", "perTpWorker"],
    /^gaudi-pd: error: --nixl-side-channel-layout: .*port 4301 is used by both prefill-0 prefill instance 0 \(NIXL side channel tp 1\) and prefill-0 prefill instance 1/m,
  ],
  ["plan without --stack", ["plan"], /^gaudi-pd: error: --stack: required/m],
  [
    "plan of a missing stack",
    ["plan", "--stack", "nope"],
    /^gaudi-pd: error: --stack: no Pulumi\.nope\.yaml in .* \(stacks: hosts, multi-node, single-node, tp2\)$/m,
  ],
  ["unknown command", ["frobnicate"], /^gaudi-pd: error: frobnicate: unknown command/m],
];

const CONFIG_CASES: Array<[string, object, RegExp]> = [
  [
    "dpSize not 1 or instances × nodes",
    { ...multiNode, "gaudi-pd:decode": { nodes: 2, instancesPerNode: 8, dpSize: 12 } },
    /^gaudi-pd: error: gaudi-pd:decode\.dpSize: must be 1 or instancesPerNode × nodes \(16\), got 12$/m,
  ],
  ["misspelt top-level key", { "gaudi-pd:prefil": {} }, /^gaudi-pd: error: gaudi-pd:prefil: unknown key \(did you mean "prefill"\?\)$/m],
  ["misspelt role key", { "gaudi-pd:decode": { dpsize: 2 } }, /^gaudi-pd: error: gaudi-pd:decode\.dpsize: unknown key \(did you mean "dpSize"\?\)$/m],
  ["unknown infra kind", { "gaudi-pd:infra": { kind: "gcp" } }, /^gaudi-pd: error: gaudi-pd:infra\.kind: must be one of aws \| hosts, got "gcp"$/m],
  [
    "hosts listed do not match nodes",
    { ...multiNode, "gaudi-pd:infra": hosts(2, 1) },
    /^gaudi-pd: error: gaudi-pd:infra\.decode: 1 host\(s\) listed, 2 expected \(decode\.nodes is 2\)$/m,
  ],
  ["HF token in plain text", { "gaudi-pd:hfToken": "hf_plaintext" }, /^gaudi-pd: error: gaudi-pd:hfToken: must be a secret/m],
  [
    "colocated roles need more HPUs than a node has",
    { "gaudi-pd:colocate": true, "gaudi-pd:prefill": { instancesPerNode: 6 }, "gaudi-pd:decode": { instancesPerNode: 4 } },
    /^gaudi-pd: error: gaudi-pd:colocate: prefill \(6\) and decode \(4\) need 10 HPUs per node/m,
  ],
  [
    "router on a node that does not exist",
    { "gaudi-pd:router": { placement: "decode-7" } },
    /^gaudi-pd: error: gaudi-pd:router\.placement: no node named decode-7/m,
  ],
  [
    "async scheduling on prefill",
    { "gaudi-pd:prefill": { asyncScheduling: true } },
    /^gaudi-pd: error: gaudi-pd:prefill\.asyncScheduling: async scheduling is for the decode role only$/m,
  ],
  [
    "extra env replacing a derived variable",
    { "gaudi-pd:decode": { env: { UCX_TLS: "tcp" } } },
    /^gaudi-pd: error: gaudi-pd:decode\.env\.UCX_TLS: is derived by gaudi-pd/m,
  ],
  [
    "AWS without SSH CIDRs",
    { "gaudi-pd:infra": { kind: "aws", ami: { id: "ami-0123abcd" }, sshCidrs: [] } },
    /^gaudi-pd: error: gaudi-pd:infra\.sshCidrs: must list at least 1 item\(s\)$/m,
  ],
  ["a port as text", { "gaudi-pd:ports": { base: "eighty" } }, /^gaudi-pd: error: gaudi-pd:ports\.base: must be a number, got "eighty"$/m],
  [
    "colocate with unequal node counts",
    { "gaudi-pd:colocate": true, "gaudi-pd:decode": { nodes: 2 }, "gaudi-pd:router": { placement: "pd-0" } },
    /^gaudi-pd: error: gaudi-pd:colocate: prefill\.nodes \(1\) and decode\.nodes \(2\) must be equal/m,
  ],
];

function assertRefused(r: ReturnType<typeof runCli>, expected: RegExp) {
  assert.equal(r.code, 2, `exit code; stderr:\n${r.stderr}`);
  assert.match(r.stderr, expected);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
  assert.ok(
    r.stderr
      .trim()
      .split("\n")
      .every((l) => l.startsWith("gaudi-pd: error: ")),
    `one problem per line:\n${r.stderr}`,
  );
}

for (const [name, args, expected] of CLI_CASES) test(`flags: ${name}`, () => assertRefused(runCli(args), expected));
for (const [name, config, expected] of CONFIG_CASES)
  test(`config: ${name}`, () => assertRefused(planConfig(name.replace(/\W+/g, "-"), config), expected));

test("every problem of one input is reported at once", () => {
  const r = runCli(["launch", "--bogus", "--role", "router", "--node-rank", "5"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--bogus: unknown flag/);
  const r2 = runCli(["launch", "-r", "decode", "-n", "2", "-d", "3", "--nixl-backend", "X", "--base-port", "1"]);
  assert.equal(r2.code, 2);
  assert.equal(r2.stderr.trim().split("\n").length, 2, r2.stderr);
});

test("a bad --role is one line in flag terms, never a second one about the config it would have made", () => {
  for (const role of ["decoder", "router", "ports"]) {
    const r = runCli(["launch", "--role", role, "--dry-run"]);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(r.stderr.trim().split("\n"), [`gaudi-pd: error: --role: must be prefill or decode, got "${role}"`]);
  }
});

test("the README's example of bad input prints what the README shows", () => {
  const readme = fs.readFileSync(path.join(REPO, "README.md"), "utf8");
  const example = /```\n\$ npx gaudi-pd (plan --stack broken --stacks-dir docs\/examples)\n((?:gaudi-pd: error: .*\n)+)```/.exec(readme);
  assert.ok(example, "the README shows the broken example");
  const r = runCli(example[1].split(" "));
  assert.equal(r.code, 2);
  assert.equal(r.stderr, example[2]);
});
