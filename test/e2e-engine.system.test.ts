// The real Pulumi engine and command provider deploying a `hosts` stack over SSH to systemd test hosts with a stock
// sshd, as a user runs it: file backend, passphrase secrets, up / up again / a decode change / policy pack / destroy.
// Runs where the CLI, the command provider and a language host that runs policy packs are installed; skips otherwise.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { run, RunResult } from "../cli/processes";
import { STAND_IN } from "../sim/standIn";
import { completionRequest, generatedText, post } from "../sim/completionClient";
import { planCluster } from "../components/plan";
import { parseTopology } from "../components/topology";
import { rawTopologyFromConfig } from "../components/stackConfig";
import {
  instanceService,
  PROGRAM_CLUSTER,
  ROUTER_UNIT,
  serveName,
  servingCommandUrn,
  systemdUnit,
  unitStateDir,
  verifyName,
} from "../components/names";
import { shellQuote } from "../components/render/shellQuote";
import { HOST_STATE_DIR, PREFIX, sleep, TestHosts } from "./harness/testHosts";
import { deploymentLeftovers, listenerPid } from "./harness/hostState";
import { TEST_MODEL } from "./harness/testHostCluster";
import { pulumiInstall } from "./helpers/pulumiInstall";
import { REPO, runCli } from "./helpers/runCli";

const install = pulumiInstall();
const ROUTER_BIN = path.join(REPO, ".venv-router", "bin", "vllm-router");
const missing = install.missing ?? (fs.existsSync(ROUTER_BIN) ? null : `no vllm-router at ${ROUTER_BIN} (scripts/install-router.sh)`);

/** Plan node name → test host; addresses follow this order (198.18.0.10, .11, …). */
const NODES = ["prefill-0", "prefill-1", "decode-0", "decode-1", "router"] as const;
const hostOf = (node: string) => `${PREFIX}${node}`;
const STACK = "e2e";
const PROJECT = (yaml.load(fs.readFileSync(path.join(REPO, "Pulumi.yaml"), "utf8")) as { name: string }).name;
/** Test hosts have no hub: the nodes check the repository's tiny model on disk instead of fetching one. */
const MODEL = TEST_MODEL;
const ROUTER_PORT = 9192;
/** Long enough for a stand-in DP group on 2 busy cores, short enough that a broken deployment fails fast. */
const HEALTH_TIMEOUT_SECS = 90;

describe("the real Pulumi engine deploys a hosts stack to test hosts", { skip: missing ?? false }, () => {
  let hosts: TestHosts;
  let work: string;
  let project: string;
  let sshKey: string;
  /** How many resources the stack has once deployed. */
  let total = 0;
  /** Every engine command run, with its output, for the no-warning check and the logs kept on failure. */
  const transcript: { args: string[]; r: RunResult; ms: number }[] = [];
  let failed = false;

  const stackFile = () => path.join(project, "stacks", `Pulumi.${STACK}.yaml`);
  const env = () => ({
    PULUMI_HOME: path.join(work, "home"),
    PULUMI_CONFIG_PASSPHRASE: "engine-test-passphrase",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    NO_COLOR: "1",
  });

  async function pulumi(...args: string[]): Promise<RunResult> {
    const t0 = Date.now();
    const r = await run(install.cli!, ["--cwd", project, ...args, "--non-interactive"], { env: env(), timeoutMs: 600_000 });
    const ms = Date.now() - t0;
    transcript.push({ args, r, ms });
    const duration = /^Duration: (\S+)$/m.exec(r.stdout)?.[1];
    console.log(`# pulumi ${args.join(" ")}: exit ${r.code} in ${(ms / 1000).toFixed(1)} s${duration ? ` (the update itself: ${duration})` : ""}`);
    return r;
  }

  const show = (r: RunResult) => `exit ${r.code}\n${r.output}`;

  /** Read, change and write the stack's config (its encrypted key stays as it is). */
  function editConfig(change: (config: Record<string, any>) => void): void {
    const doc = yaml.load(fs.readFileSync(stackFile(), "utf8")) as { config: Record<string, any> };
    change(doc.config);
    fs.writeFileSync(stackFile(), yaml.dump(doc));
  }

  /** The plan the stack's config gives, with the test hosts' addresses. */
  function plan() {
    const config = (yaml.load(fs.readFileSync(stackFile(), "utf8")) as { config: Record<string, unknown> }).config;
    return planCluster(parseTopology(rawTopologyFromConfig(config)), {
      addresses: Object.fromEntries(NODES.map((n) => [n, hosts.host(hostOf(n)).address])),
    });
  }

  /** The last update's resource changes, as `pulumi stack history` records them. */
  async function lastChanges(): Promise<Record<string, number>> {
    const r = await pulumi("stack", "history", "--json", "--stack", STACK);
    assert.equal(r.code, 0, show(r));
    return (JSON.parse(r.stdout) as { resourceChanges?: Record<string, number> }[])[0]?.resourceChanges ?? {};
  }

  /** One short completion through the router. */
  const ask = (k: number, timeoutMs = 10_000) =>
    post(
      `http://${hosts.host(hostOf("router")).address}:${ROUTER_PORT}/v1/completions`,
      completionRequest("completions", MODEL, `engine ${k}`, false).body,
      timeoutMs,
    );

  /** Pids listening on every prefill instance's port and the router's. */
  async function prefillAndRouterPids(): Promise<Record<string, number | null>> {
    const p = plan();
    const where = [
      ...p.instances.filter((i) => i.role === "prefill").map((i) => [`${i.node}:${i.port}`, hostOf(i.node), i.port] as const),
      [`router:${ROUTER_PORT}`, hostOf("router"), ROUTER_PORT] as const,
    ];
    return Object.fromEntries(await Promise.all(where.map(async ([key, host, port]) => [key, await listenerPid(hosts, host, port)] as const)));
  }

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "gaudi-pd-engine-e2e-"));
    project = path.join(work, "project");
    // A copy of the project and its policy pack, so the test's stack file and state never touch the checkout.
    fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
    for (const f of ["Pulumi.yaml", "index.ts", "package.json", "tsconfig.json", "components", "policy"])
      fs.cpSync(path.join(REPO, f), path.join(project, f), { recursive: true });
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(project, "node_modules"));
    // A home of its own (login, workspace) that reads the installed plugins.
    fs.mkdirSync(path.join(work, "home"));
    if (fs.existsSync(install.pluginDir)) fs.symlinkSync(install.pluginDir, path.join(work, "home", "plugins"));
    fs.mkdirSync(path.join(work, "state"));

    assert.ok(fs.existsSync(STAND_IN), `no stand-in at ${STAND_IN}`);
    const t0 = Date.now();
    hosts = await TestHosts.start(NODES.map(hostOf), REPO, { kind: "systemd" });
    console.log(`# ${NODES.length} systemd test hosts answer SSH after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const a = (n: string) => ({ address: hosts.host(hostOf(n)).address });
    fs.writeFileSync(
      stackFile(),
      yaml.dump({
        config: {
          "gaudi-pd:model": MODEL,
          "gaudi-pd:healthTimeoutSecs": HEALTH_TIMEOUT_SECS,
          "gaudi-pd:prefill": { nodes: 2, instancesPerNode: 2, dpSize: 4 },
          "gaudi-pd:decode": { nodes: 2, instancesPerNode: 2, dpSize: 4 },
          "gaudi-pd:router": { port: ROUTER_PORT },
          "gaudi-pd:infra": {
            kind: "hosts",
            sshUser: "root",
            prefill: [a("prefill-0"), a("prefill-1")],
            decode: [a("decode-0"), a("decode-1")],
            router: a("router"),
          },
        },
      }),
    );
    const login = await pulumi("login", `file://${path.join(work, "state")}`);
    assert.equal(login.code, 0, show(login));
    const init = await pulumi("stack", "init", STACK, "--secrets-provider", "passphrase");
    assert.equal(init.code, 0, show(init));
    sshKey = fs.readFileSync(hosts.keyPath, "utf8");
    const set = await run(install.cli!, ["--cwd", project, "config", "set", "--secret", "gaudi-pd:sshPrivateKey", "--stack", STACK], {
      env: env(),
      stdin: sshKey,
    });
    assert.equal(set.code, 0, show(set));
  });

  after(async () => {
    if (failed) {
      fs.writeFileSync(path.join(work, "transcript.log"), transcript.map((x) => `$ pulumi ${x.args.join(" ")}\n${show(x.r)}\n`).join("\n"));
      console.log(`# engine test failed: transcript and state kept in ${work}`);
    }
    await hosts?.teardown();
    if (!failed) fs.rmSync(work, { recursive: true, force: true });
  });

  /** Run a step, remembering a failure so the work directory is kept. */
  const step = (name: string, body: () => Promise<void>) =>
    test(name, async () => {
      try {
        await body();
      } catch (e) {
        failed = true;
        throw e;
      }
    });

  step("pulumi up creates the cluster, and requests through the router succeed", async () => {
    const r = await pulumi("up", "--yes", "--stack", STACK);
    assert.equal(r.code, 0, show(r));
    const changes = await lastChanges();
    console.log(`# up: ${JSON.stringify(changes)}`);
    assert.ok((changes.create ?? 0) > 0 && Object.keys(changes).every((k) => k === "create"), JSON.stringify(changes));
    total = changes.create;
    for (const node of NODES) {
      const mode = await hosts.ssh(hostOf(node), `cat ${unitStateDir(HOST_STATE_DIR, node === "router" ? ROUTER_UNIT : node)}/mode`);
      assert.equal(mode.stdout.trim(), "systemd", `${node} runs under systemd: ${mode.output}`);
    }
    // The key reaches every connection, yet neither the state nor the stack file holds it in the clear.
    const keyLine = sshKey.split("\n")[1];
    const stored = [
      stackFile(),
      ...fs
        .readdirSync(path.join(work, "state"), { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => path.join(d.parentPath, d.name)),
    ];
    assert.deepEqual(
      stored.filter((f) => fs.readFileSync(f, "utf8").includes(keyLine)),
      [],
      "files holding the SSH key in the clear",
    );
    for (let k = 0; k < 8; k++) {
      const c = await ask(k);
      assert.equal(c.status, 200, c.text);
      assert.notEqual(generatedText(c), "", c.text);
    }
  });

  step("pulumi up again changes nothing", async () => {
    const r = await pulumi("up", "--yes", "--stack", STACK);
    assert.equal(r.code, 0, show(r));
    const changes = await lastChanges();
    console.log(`# up again: ${JSON.stringify(changes)}`);
    assert.deepEqual(Object.keys(changes), ["same"], JSON.stringify(changes));
  });

  step("a decode setting changed: the preview replaces only the decode serve commands; up keeps prefill and router running", async () => {
    editConfig((c) => (c["gaudi-pd:decode"] = { ...c["gaudi-pd:decode"], maxNumSeqs: 128 }));
    const preview = await pulumi("preview", "--diff", "--json", "--stack", STACK);
    assert.equal(preview.code, 0, show(preview));
    const steps = (JSON.parse(preview.stdout) as { steps: { op: string; urn: string }[] }).steps;
    const changed = steps.filter((s) => s.op !== "same");
    // The decode serve commands, and the verify step that re-runs whenever a serve command changes.
    const expected = [...["decode-0", "decode-1"].map((n) => serveName(PROGRAM_CLUSTER, n)), verifyName(PROGRAM_CLUSTER)].map((n) =>
      servingCommandUrn(STACK, PROJECT, n),
    );
    assert.deepEqual([...new Set(changed.map((s) => s.urn))].sort(), expected.sort(), "only the decode serve commands change (and verify re-runs)");
    for (const s of changed) assert.match(s.op, /^(replace|create-replacement|delete-replaced)$/, `${s.urn}: ${s.op}`);

    const before = await prefillAndRouterPids();
    assert.ok(
      Object.values(before).every((p) => p !== null),
      `everything listens before the change: ${JSON.stringify(before)}`,
    );
    // Requests one after another through the whole update: the failures' span is the decode outage.
    const samples: { start: number; end: number; status: number }[] = [];
    let updating = true;
    const prober = (async () => {
      for (let k = 0; updating; k++) {
        const start = Date.now();
        const c = await ask(1000 + k, 5000);
        samples.push({ start, end: Date.now(), status: c.status });
        await sleep(50);
      }
    })();
    const r = await pulumi("up", "--yes", "--stack", STACK);
    updating = false;
    await prober;
    assert.equal(r.code, 0, show(r));
    const changes = await lastChanges();
    console.log(`# decode change: ${JSON.stringify(changes)}`);
    assert.deepEqual(changes, { replace: 3, same: total - 3 }, JSON.stringify(changes));
    assert.deepEqual(await prefillAndRouterPids(), before, "prefill instances and the router keep their pids");

    const bad = samples.filter((s) => s.status !== 200);
    const statuses = [...new Set(bad.map((s) => s.status))].sort();
    const window = bad.length ? bad.at(-1)!.end - bad[0].start : 0;
    console.log(
      `# decode outage: ${bad.length} of ${samples.length} requests failed (HTTP ${statuses.join(", ") || "-"}; 0 = no answer) ` +
        `over ${(window / 1000).toFixed(1)} s of a ${((samples.at(-1)!.end - samples[0].start) / 1000).toFixed(1)} s update`,
    );
    assert.equal(samples.at(-1)!.status, 200, "the router serves again once up returns");
    const c = await ask(2000);
    assert.equal(c.status, 200, c.text);
  });

  step("a decode instance that answers without pulling KV makes pulumi up fail naming it; the fix makes it succeed", async () => {
    const victim = plan().instances.find((i) => i.node === "decode-0" && i.instance === 1)!;
    const decode = (c: Record<string, any>) => c["gaudi-pd:decode"] as Record<string, unknown>;
    // The stand-in's fault knob: the decode instance on this port serves without pulling KV (the silent fallback).
    editConfig((c) => (c["gaudi-pd:decode"] = { ...decode(c), env: { VLLM_SIM_SKIP_KV_PULL: String(victim.port) } }));
    const failed = await pulumi("up", "--yes", "--stack", STACK);
    assert.notEqual(failed.code, 0, show(failed));
    const findings = failed.output.match(/verify: FAILED: [^\n]*/g) ?? [];
    assert.deepEqual(
      [...new Set(findings.map((f) => f.replace(/ decoded \d+ /, " decoded N ")))],
      [
        "verify: FAILED: decode-0 instance 1 decoded N request(s) with no KV transfer: requests fell back to decode-only; check VLLM_NIXL_SIDE_CHANNEL_HOST and the prefill side channel",
      ],
      failed.output,
    );
    editConfig((c) => {
      const withoutKnob = { ...decode(c) };
      delete withoutKnob.env;
      c["gaudi-pd:decode"] = withoutKnob;
    });
    const fixed = await pulumi("up", "--yes", "--stack", STACK);
    assert.equal(fixed.code, 0, show(fixed));
    console.log(`# fallback fixed: ${JSON.stringify(await lastChanges())}`);
    const c = await ask(4000);
    assert.equal(c.status, 200, c.text);
  });

  step("the policy pack passes the stack, and refuses a change that breaks a mandatory policy", async () => {
    const pack = path.join(project, "policy");
    const ok = await pulumi("preview", "--policy-pack", pack, "--stack", STACK);
    assert.equal(ok.code, 0, show(ok));
    assert.match(ok.output, /gaudi-pd-guard/, "the pack ran");

    // A state directory named like a Hugging Face token: the program accepts it, the pack refuses it in a command line.
    const stateDir = `/var/lib/hf_${"Q7".repeat(12)}`;
    editConfig((c) => (c["gaudi-pd:stateDir"] = stateDir));
    try {
      const plain = await pulumi("preview", "--stack", STACK);
      assert.equal(plain.code, 0, `without the pack the preview passes:\n${show(plain)}`);
      const refused = await pulumi("preview", "--policy-pack", pack, "--stack", STACK);
      assert.notEqual(refused.code, 0, show(refused));
      assert.match(refused.output, /no-plaintext-secrets-in-commands/, show(refused));
      assert.match(refused.output, /mandatory/, show(refused));
      assert.doesNotMatch(refused.output, new RegExp(stateDir.slice(9)), "the report does not echo what looks like a token");
    } finally {
      editConfig((c) => delete c["gaudi-pd:stateDir"]);
    }
  });

  step(
    "an instance killed for good: gaudi-pd status prints the replace, which run as printed replaces exactly its node's serve command",
    async () => {
      // decode-1 instance 1 (DP rank 3), SIGKILLed whenever systemd brings it back until it hits its start limit.
      // Its DP group mates restart once when the group breaks and then wait for it: only decode-1 is down.
      const unit = `${systemdUnit("decode-1")}@${instanceService("decode", 1)}.service`;
      const kill = await hosts.ssh(
        hostOf("decode-1"),
        `for t in $(seq 300); do s=$(systemctl show -p ActiveState --value ${unit}); [ "$s" = failed ] && exit 0; ` +
          `[ "$s" = active ] && systemctl kill -s KILL ${unit}; sleep 0.1; done; exit 1`,
      );
      assert.equal(kill.code, 0, `${unit} did not reach its start limit: ${kill.output}`);
      const status = () =>
        runCli([
          "status",
          "--stack",
          STACK,
          "--stacks-dir",
          path.join(project, "stacks"),
          "--ssh-key-file",
          hosts.keyPath,
          "--known-hosts",
          path.join(work, "known_hosts"),
        ]);
      const r = status();
      console.log(r.stdout.replace(/^/gm, "# status: "));
      assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /^decode-1 +decode-1 +9309 +down \(gave up or was killed/m, r.stdout);
      const printed = r.stdout
        .split("\n")
        .filter((l) => l.trim().startsWith("pulumi "))
        .map((l) => l.trim());
      assert.equal(printed.length, 1, `one replace command, for decode-1:\n${r.stdout}`);

      const before = await prefillAndRouterPids();
      const t0 = Date.now();
      // As printed: through a shell, from the project, confirmed by the environment rather than an added --yes.
      const replaced = await run("sh", ["-c", `cd ${shellQuote(project)} && ${printed[0]}`], {
        env: { ...env(), PATH: `${path.dirname(install.cli!)}:${process.env.PATH}`, PULUMI_SKIP_CONFIRMATIONS: "true" },
        timeoutMs: 600_000,
      });
      transcript.push({ args: [printed[0]], r: replaced, ms: Date.now() - t0 });
      console.log(`# ${printed[0]}: exit ${replaced.code} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      assert.equal(replaced.code, 0, show(replaced));
      const changes = await lastChanges();
      console.log(`# replace: ${JSON.stringify(changes)}`);
      assert.deepEqual(changes, { replace: 1, same: total - 1 }, JSON.stringify(changes));
      const urn = servingCommandUrn(STACK, PROJECT, serveName(PROGRAM_CLUSTER, "decode-1"));
      assert.match(replaced.output, new RegExp(` ${serveName(PROGRAM_CLUSTER, "decode-1")} replaced `), replaced.output);
      assert.ok(printed[0].includes(urn), `${printed[0]} targets ${urn}`);
      assert.deepEqual(await prefillAndRouterPids(), before, "prefill instances and the router keep their pids");
      const healed = status();
      assert.equal(healed.code, 0, `${healed.stdout}${healed.stderr}`);
      const c = await ask(3000);
      assert.equal(c.status, 200, c.text);
    },
  );

  step("pulumi destroy leaves nothing of gaudi-pd on the hosts but its logs", async () => {
    const r = await pulumi("destroy", "--yes", "--stack", STACK);
    assert.equal(r.code, 0, show(r));
    console.log(`# destroy: ${JSON.stringify(await lastChanges())}`);
    for (const h of hosts.hosts) assert.deepEqual(await deploymentLeftovers(hosts, h.name), [], `left on ${h.name}`);
  });

  step("no engine output carries a PULUMI_COMMAND_* warning", async () => {
    const warned = transcript.filter((x) => /PULUMI_COMMAND_/.test(x.r.output)).map((x) => `pulumi ${x.args.join(" ")}`);
    assert.deepEqual(warned, []);
  });
});
