// `gaudi-pd status` without hosts: the porcelain it reads, its verdicts, the hosts and logins it derives from
// a stack, the ssh argv, and the replace command, checked against the URNs the program registers under mocks.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parsePorcelain, replaceCommand, serveCommandUrn, statusRows, UnitAnswer, unitsToReplace, verdictOf } from "../cli/clusterStatus";
import { planStack } from "../cli/planCommand";
import { SSH_KEY_ENV, sshArgv, withSshKey } from "../cli/ssh";
import { hostsFromConfig, hostsFromOutputs, stackHosts } from "../cli/stackHosts";
import { CliError } from "../cli/errors";
import { PROGRAM_CLUSTER, REMOTE_COMMAND_TYPE, ROUTER_UNIT } from "../components/names";
import { planCluster } from "../components/plan";
import { parseTopology } from "../components/topology";
import { runProgram, stackConfig } from "./helpers/pulumiMocks";
import { runCli } from "./helpers/runCli";

const report = (state: string, restarts: number, http: number) => ({ key: "decode-0", state, restarts, http, port: 9300 });

test("porcelain: five tab-separated fields per service; anything else (a warning, a torn line) is skipped", () => {
  const text = "prefill-0\trunning\t0\t200\t8300\n[gaudi-pd x] warning: no\nprefill-1\tfailed\t5\t000\t8301\nbad\tline\n\tx\ty\tz\tw\n";
  assert.deepEqual(parsePorcelain(text), [
    { key: "prefill-0", state: "running", restarts: 0, http: 200, port: 8300 },
    { key: "prefill-1", state: "failed", restarts: 5, http: 0, port: 8301 },
  ]);
});

test("verdicts: healthy, starting, restarting n times, down (failed, unsupervised, stopped, unknown to the script)", () => {
  const table: [ReturnType<typeof report> | undefined, string, string][] = [
    [report("running", 0, 200), "healthy", "healthy"],
    [report("running", 2, 200), "healthy", "healthy (restarted 2 times)"],
    [report("running", 0, 503), "starting", "starting"],
    [report("restarting", 0, 0), "starting", "starting"],
    [report("restarting", 1, 0), "restarting", "restarting (1 time)"],
    [report("running", 3, 0), "restarting", "restarting (3 times)"],
    [report("failed", 5, 0), "down", "down (gave up or was killed after 5 restarts)"],
    [report("failed", 0, 0), "down", "down (gave up or was killed)"],
    [report("unsupervised", 0, 200), "down", "down (still serving, but its supervisor is gone: nothing restarts it)"],
    [report("stopped", 0, 0), "down", "down (stopped)"],
    [undefined, "down", "down (its host script does not know it: the script is from another plan)"],
  ];
  for (const [r, kind, text] of table) assert.deepEqual(verdictOf(r), { kind, text }, JSON.stringify(r));
});

test("rows: every planned instance and the router; unreachable hosts are unknown and get no replace; a missing script does", () => {
  const plan = planCluster(parseTopology({ prefill: { instancesPerNode: 2 }, decode: {} }));
  const answers = new Map<string, UnitAnswer>([
    ["prefill-0 prefill-0", { kind: "reports", reports: parsePorcelain("prefill-0\trunning\t0\t200\t8300\nprefill-1\tfailed\t5\t000\t8301\n") }],
    ["decode-0 decode-0", { kind: "unreachable", why: "root@h: Connection refused" }],
    ["router router", { kind: "not-installed" }],
  ]);
  const rows = statusRows(plan, answers);
  assert.deepEqual(
    rows.map((r) => [r.service.host, r.service.key, r.service.port, r.verdict.kind, r.check]),
    [
      ["prefill-0", "prefill-0", 8300, "healthy", "/health 200"],
      ["prefill-0", "prefill-1", 8301, "down", "/health no answer"],
      ["decode-0", "decode-0", 9300, "down", "-"],
      ["router", "vllm-router", 9192, "down", "-"],
    ],
  );
  assert.equal(rows[2].verdict.text, "unknown: root@h: Connection refused");
  assert.deepEqual(unitsToReplace(rows, answers), ["prefill-0", ROUTER_UNIT]);
});

/** The words bash makes of a printed command line. */
function shellWords(line: string): string[] {
  const r = spawnSync("bash", ["-c", `set -- ${line}; printf '%s\\0' "$@"`], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\0").slice(0, -1);
}

for (const [stack, units] of [
  ["multi-node", ["decode-1", "prefill-0", ROUTER_UNIT]],
  ["single-node", ["pd-0", ROUTER_UNIT]],
] as const) {
  test(`${stack}: the replace command, as bash reads it, targets the URN the program registers for that unit's serve command`, async () => {
    const { config, secretKeys } = stackConfig(stack);
    const run = await runProgram(config, secretKeys);
    for (const unit of units) {
      const line = replaceCommand("test", "gaudi-pd", PROGRAM_CLUSTER, unit);
      const words = shellWords(line);
      assert.deepEqual(words.slice(0, 5), ["pulumi", "up", "--stack", "test", "--replace"], line);
      const targeted = run.resources.filter((r) => r.urn === words[5]);
      assert.equal(targeted.length, 1, `${unit}: ${words[5]} is the URN of ${targeted.length} resources`);
      assert.equal(targeted[0].type, REMOTE_COMMAND_TYPE);
      assert.match(targeted[0].name, unit === ROUTER_UNIT ? /^gaudi-pd-router-serve$/ : new RegExp(`^gaudi-pd-${unit}-serve$`));
    }
  });
}

test("a stack named org/project/stack keeps only its last part in the URN", () => {
  assert.equal(
    serveCommandUrn("acme/gaudi-pd/prod", "gaudi-pd", "gaudi-pd", "decode-0"),
    serveCommandUrn("prod", "gaudi-pd", "gaudi-pd", "decode-0"),
  );
  assert.match(
    replaceCommand("acme/gaudi-pd/prod", "gaudi-pd", "gaudi-pd", "decode-0"),
    /^pulumi up --stack acme\/gaudi-pd\/prod --replace 'urn:pulumi:prod::/,
  );
});

test("hosts stack: logins from the config (per-host user and port, the bastion), the router's unit where it runs", () => {
  const t = parseTopology({
    colocate: true,
    prefill: { nodes: 2 },
    decode: { nodes: 2 },
    router: { placement: "pd-1" },
    infra: {
      kind: "hosts",
      sshUser: "gaudi",
      sshPort: 2222,
      pd: [
        { address: "203.0.113.1", user: "root" },
        { address: "203.0.113.2", port: 22 },
      ],
      bastion: { address: "198.51.100.9" },
    },
  });
  const bastion = { host: "198.51.100.9", user: "gaudi", port: 2222 };
  assert.deepEqual(hostsFromConfig(planCluster(t), t.infra as never), [
    { node: "pd-0", login: { host: "203.0.113.1", user: "root", port: 2222 }, bastion, units: ["pd-0"] },
    { node: "pd-1", login: { host: "203.0.113.2", user: "gaudi", port: 22 }, bastion, units: ["pd-1", ROUTER_UNIT] },
  ]);
});

test("aws stack: node addresses from the nodes output, the dedicated router's from routerUrl; a missing one is an error", () => {
  const { plan, topology } = planStack("multi-node");
  const nodes = plan.nodes.map((n, k) => ({
    role: n.roles[0],
    rank: n.rank,
    name: n.name,
    privateAddress: `10.0.0.${k}`,
    publicAddress: `198.51.100.${k}`,
  }));
  const hosts = hostsFromOutputs(plan, topology.infra as never, { nodes, routerUrl: "http://203.0.113.7:9192" });
  assert.deepEqual(
    hosts.map((h) => [h.node, h.login.host, h.login.user, h.units.join(",")]),
    [
      ["prefill-0", "198.51.100.0", "ubuntu", "prefill-0"],
      ["prefill-1", "198.51.100.1", "ubuntu", "prefill-1"],
      ["decode-0", "198.51.100.2", "ubuntu", "decode-0"],
      ["decode-1", "198.51.100.3", "ubuntu", "decode-1"],
      ["router", "203.0.113.7", "ubuntu", ROUTER_UNIT],
    ],
  );
  assert.throws(
    () => hostsFromOutputs(plan, topology.infra as never, { nodes: nodes.slice(1) }),
    (e: CliError) => /no address for prefill-0, router/.test(e.problems.join("\n")),
  );
});

test("aws stack: the outputs come from `pulumi --cwd <project> stack output --json --stack NAME`; its failure is one line", async () => {
  const { plan } = planStack("multi-node");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gaudi-pd-status-pulumi-"));
  const outputs = { nodes: plan.nodes.map((n, k) => ({ name: n.name, publicAddress: `198.51.100.${k}` })), routerUrl: "http://203.0.113.7:9192" };
  // A stand-in pulumi: prints the outputs when called exactly as expected, fails like pulumi otherwise.
  const expected = `--cwd ${dir} stack output --json --stack multi-node`;
  fs.writeFileSync(
    path.join(dir, "pulumi"),
    `#!/bin/sh\nif [ "$*" = ${JSON.stringify(expected)} ]; then echo '${JSON.stringify(outputs)}'; else echo "error: no stack named $*" >&2; exit 255; fi\n`,
    { mode: 0o755 },
  );
  const saved = process.env.PATH;
  process.env.PATH = `${dir}:${saved}`;
  try {
    const hosts = await stackHosts("multi-node", plan, dir);
    assert.deepEqual(
      hosts.map((h) => h.login.host),
      ["198.51.100.0", "198.51.100.1", "198.51.100.2", "198.51.100.3", "203.0.113.7"],
    );
    await assert.rejects(stackHosts("multi-node", plan, path.join(dir, "elsewhere")), (e: CliError) => {
      assert.equal(e.exitCode, 1);
      assert.match(e.problems.join("\n"), /^--stack: pulumi stack output --json --stack multi-node failed \(exit 255\): error: no stack named/);
      return true;
    });
  } finally {
    process.env.PATH = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("ssh argv: the key file and known hosts for the login and its bastion hop, the command after --, never the key itself", () => {
  const settings = { keyFile: "/k/id ed", knownHostsFile: "/k/kh", connectTimeoutSecs: 5 };
  const argv = sshArgv({ host: "203.0.113.1", user: "root", port: 2222 }, settings, "echo hi", { host: "198.51.100.9", user: "jump" });
  assert.deepEqual(argv.slice(-5), ["-p", "2222", "root@203.0.113.1", "--", "echo hi"]);
  assert.deepEqual(argv.slice(argv.indexOf("-i"), argv.indexOf("-i") + 2), ["-i", "/k/id ed"]);
  const hop = argv.find((w) => w.startsWith("ProxyCommand="));
  assert.ok(hop && /-i '\/k\/id ed' .*UserKnownHostsFile=\/k\/kh .*-W %h:%p -p 22 jump@198\.51\.100\.9$/.test(hop), hop);
});

test("the key from the environment goes to a 0600 file that is gone afterwards", async () => {
  const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----";
  const saved = process.env[SSH_KEY_ENV];
  process.env[SSH_KEY_ENV] = key;
  try {
    let seen = "";
    await withSshKey(undefined, async (file) => {
      assert.ok(file);
      seen = file;
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.equal(fs.readFileSync(file, "utf8"), `${key}\n`);
    });
    assert.equal(fs.existsSync(seen), false);
  } finally {
    if (saved === undefined) delete process.env[SSH_KEY_ENV];
    else process.env[SSH_KEY_ENV] = saved;
  }
});

test("bad input: no --stack, an unknown stack, a key file that is not there, no infra: one line each, exit 2, no host asked", () => {
  const bare = fs.mkdtempSync(path.join(os.tmpdir(), "gaudi-pd-status-bare-"));
  fs.writeFileSync(path.join(bare, "Pulumi.bare.yaml"), "config: {}\n");
  const cases: [string[], RegExp][] = [
    [["status"], /^gaudi-pd: error: --stack: required/],
    [["status", "--stack", "nope"], /^gaudi-pd: error: --stack: no Pulumi\.nope\.yaml/],
    [["status", "--stack", "hosts", "--ssh-key-file", "/nonexistent/key"], /^gaudi-pd: error: --ssh-key-file: no such file: \/nonexistent\/key\n/],
    [["status", "--stack", "bare", "--stacks-dir", bare], /^gaudi-pd: error: gaudi-pd:infra: the stack has no infra/],
  ];
  try {
    for (const [args, message] of cases) {
      const r = runCli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.equal(r.stdout, "");
    }
  } finally {
    fs.rmSync(bare, { recursive: true, force: true });
  }
});
