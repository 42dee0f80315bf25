// The real Pulumi engine (built from the Go module proxy by scripts/install-pulumi.sh) running the program:
// Pulumi.yaml's declared config and the program's refusal of bad config, as users meet them in a preview.
// Remote commands cannot be previewed here: the command provider is not on the module proxy (see tools/pulumi).
import { test, before, after } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { REPO } from "./helpers/runCli";

const BIN = path.join(REPO, ".tools", "bin");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "gaudi-pd-engine-"));
const project = path.join(work, "project");
const env = {
  ...process.env,
  PATH: `${BIN}:${process.env.PATH}`,
  PULUMI_HOME: path.join(work, "home"),
  PULUMI_CONFIG_PASSPHRASE: "engine-test",
  PULUMI_SKIP_UPDATE_CHECK: "true",
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
};

function pulumi(...args: string[]) {
  const r = spawnSync("pulumi", [...args, "--non-interactive"], { cwd: project, env, encoding: "utf8", timeout: 300_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A stack of the project copy with this config (and the SSH key set as a secret unless told not to). */
function stack(name: string, config: Record<string, unknown>, withKey = true) {
  fs.writeFileSync(path.join(project, "stacks", `Pulumi.${name}.yaml`), yaml.dump({ config }));
  assert.equal(pulumi("stack", "init", name).code, 0);
  if (withKey) assert.equal(pulumi("config", "set", "--secret", "gaudi-pd:sshPrivateKey", "engine-test-key", "--stack", name).code, 0);
}

before(() => {
  assert.ok(fs.existsSync(path.join(BIN, "pulumi")), `no ${BIN}/pulumi: run scripts/install-pulumi.sh (.ci/run does)`);
  // A copy of the project, so stack files and state of the test never touch the checkout.
  fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
  for (const f of ["Pulumi.yaml", "index.ts", "package.json", "tsconfig.json", "components"])
    fs.cpSync(path.join(REPO, f), path.join(project, f), { recursive: true });
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(project, "node_modules"));
  fs.mkdirSync(path.join(work, "state"));
  assert.equal(pulumi("login", `file://${path.join(work, "state")}`).code, 0);
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

test("the engine refuses a stack without the SSH key that Pulumi.yaml declares required and secret", () => {
  stack(
    "no-key",
    {
      "gaudi-pd:infra": {
        kind: "hosts",
        prefill: [{ address: "192.0.2.10" }],
        decode: [{ address: "192.0.2.11" }],
        router: { address: "192.0.2.12" },
      },
    },
    false,
  );
  const r = pulumi("preview", "--stack", "no-key");
  assert.notEqual(r.code, 0);
  assert.match(r.out, /missing configuration value 'sshPrivateKey'/);
});

test("bad config stops the program before any resource: one gaudi-pd: line per problem, no stack trace", () => {
  stack("bad", {
    "gaudi-pd:decode": { nodes: 2, instancesPerNode: 8, dpSize: 12 },
    "gaudi-pd:infra": {
      kind: "hosts",
      prefill: [{ address: "192.0.2.10" }],
      decode: [{ address: "192.0.2.11" }, { address: "192.0.2.13" }],
      router: { address: "192.0.2.12" },
    },
  });
  const r = pulumi("preview", "--stack", "bad");
  assert.notEqual(r.code, 0);
  // Pulumi.yaml's defaults reach the program too: none of them may add a problem of its own.
  const problems = new Set(r.out.match(/gaudi-pd:[\w.[\]]+: [^\n]*/g));
  assert.deepEqual([...problems], ["gaudi-pd:decode.dpSize: must be 1 or instancesPerNode × nodes (16), got 12"]);
  assert.doesNotMatch(r.out, /^\s+at .*\(.*:\d+:\d+\)$/m, "no stack trace");
  assert.doesNotMatch(r.out, /gaudi-pd:index:PdCluster/, "no component was registered");
});

test("an AWS stack without its public key is refused with the command that sets it", () => {
  stack("aws-no-public-key", { "gaudi-pd:infra": { kind: "aws", ami: { id: "ami-0123abcd" }, sshCidrs: ["198.51.100.0/24"] } });
  const r = pulumi("preview", "--stack", "aws-no-public-key");
  assert.notEqual(r.code, 0);
  assert.match(r.out, /gaudi-pd:infra\.publicKey: required to deploy on AWS \(pulumi config set --path "gaudi-pd:infra\.publicKey"/);
});
