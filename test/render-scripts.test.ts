// Rendered host scripts, without running any service: shellcheck, every planned value baked in and quoted
// exactly (bash itself reads the values back), no secret, determinism, addresses, usage errors.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bindAddresses, ClusterPlan, planCluster } from "../components/plan";
import { hfTokenFile } from "../components/names";
import { renderNodeScript } from "../components/render/nodeScript";
import { renderRouterScript } from "../components/render/routerScript";
import { shellQuote } from "../components/render/shellQuote";
import { parseTopology, VLLM_ROUTER_VERSION } from "../components/topology";

const REPO = path.resolve(__dirname, "..");
const TOKEN = "hf_NeverInAScript0123456789";
const NASTY = `it's "quoted" $HOME \`date\` \\ ; & | * ? ~ {a,b} #x`;

const TOPOLOGIES: Record<string, object> = {
  "single node colocated 4+4 dp 4": {
    colocate: true,
    prefill: { instancesPerNode: 4, dpSize: 4 },
    decode: { instancesPerNode: 4, dpSize: 4 },
    router: { placement: "pd-0" },
  },
  "multi-node 2+2 x 8 dp 16": { prefill: { nodes: 2, instancesPerNode: 8, dpSize: 16 }, decode: { nodes: 2, instancesPerNode: 8, dpSize: 16 } },
  "tp 2": { prefill: { instancesPerNode: 4, tpSize: 2, dpSize: 4 }, decode: { nodes: 2, instancesPerNode: 8, dpSize: 16, asyncScheduling: true } },
  "hpu buffer": { nixl: { bufferDevice: "hpu", backend: "LIBFABRIC" }, prefill: { instancesPerNode: 2 }, decode: { instancesPerNode: 2 } },
  "profiling, inc, recipe cache, extra env, hf token": {
    profile: true,
    debug: true,
    incConfig: "/opt/inc/maxabs quant.json",
    recipeCacheDir: "/var/cache/gaudi recipes",
    env: { EXTRA_NASTY: NASTY, EXTRA_EMPTY: "" },
    decode: { env: { VLLM_SIM_CRASH_AT_STARTUP: "9301=1" } },
    hfToken: TOKEN,
  },
};

const plans = Object.entries(TOPOLOGIES).map(([name, raw]) => ({ name, raw, plan: planCluster(parseTopology(raw)) }));

/** Every script of a plan: one per node and the router's. */
function scripts(plan: ClusterPlan): { name: string; text: string }[] {
  return [...plan.nodes.map((n) => ({ name: n.name, text: renderNodeScript(plan, n.name) })), { name: "router", text: renderRouterScript(plan) }];
}

/** Run the script's data functions in bash (everything but its last line, `main "$@"; exit`), then `body`. */
function bashEval(script: string, body: string): string {
  const lines = script.trimEnd().split("\n");
  assert.equal(lines[lines.length - 1], 'main "$@"; exit');
  const r = spawnSync("bash", ["-s"], { input: `${lines.slice(0, -1).join("\n")}\n${body}\n`, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** What bash prints for `env_of` and `argv_of` of every service, keyed by service key. */
function bakedServices(script: string): Map<string, { env: string[]; argv: string[] }> {
  const out = bashEval(script, `for k in "\${KEYS[@]}"; do printf '@@ %s\\n' "$k"; env_of "$k"; printf '@@\\n'; argv_of "$k"; done`);
  const services = new Map<string, { env: string[]; argv: string[] }>();
  for (const chunk of out.split(/^@@ /m).slice(1)) {
    const [head, argvPart] = chunk.split(/^@@\n/m);
    const [key, ...env] = head.split("\n").slice(0, -1);
    services.set(key, { env, argv: argvPart.split("\n").slice(0, -1) });
  }
  return services;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gaudi-pd-render-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("shellcheck finds nothing in any rendered script or runtime asset", () => {
  const version = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
  assert.equal(version.status, 0, "shellcheck is required for this test: apt-get install -y shellcheck");
  const files: string[] = [];
  for (const { name, plan } of plans) {
    for (const s of scripts(plan)) {
      const file = path.join(tmp, `${name.replace(/\W+/g, "_")}-${s.name}.sh`);
      fs.writeFileSync(file, s.text);
      files.push(file);
    }
  }
  const host = path.join(REPO, "components", "render", "host");
  files.push(path.join(host, "launch.sh"), path.join(host, "supervise.sh"));
  const r = spawnSync("shellcheck", ["-s", "bash", "-f", "gcc", ...files], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.ok(files.length >= 14, `checked ${files.length} files`);
});

for (const { name, plan } of plans) {
  test(`${name}: every instance's port, env and argv are baked in, quoted so bash reads them back exactly`, () => {
    for (const node of plan.nodes) {
      const script = renderNodeScript(plan, node.name);
      const baked = bakedServices(script);
      assert.deepEqual(
        [...baked.keys()],
        node.instances.map((i) => `${i.role}-${i.instance}`),
      );
      for (const i of node.instances) {
        const got = baked.get(`${i.role}-${i.instance}`)!;
        assert.deepEqual(
          got.env,
          Object.entries(i.env).map(([k, v]) => `${k}=${v}`),
          `${node.name} ${i.role} ${i.instance} env`,
        );
        assert.deepEqual(got.argv, i.argv, `${node.name} ${i.role} ${i.instance} argv`);
        assert.ok(script.includes(`        --port ${i.port} \\\n`), `--port ${i.port} has its own row`);
        for (const [k, v] of Object.entries(i.env)) assert.ok(script.includes(`        ${shellQuote(`${k}=${v}`)}`), `${k} quoted`);
        assert.ok(script.includes(`${shellQuote(`http://127.0.0.1:${i.port}/health`)}`), `health URL of ${i.port}`);
        assert.ok(script.includes(`_${i.logName}.log`), `log name of ${i.logName}`);
      }
      const ports = bashEval(script, 'printf "%s\\n" "${BOUND_PORTS[@]}"').trim().split("\n").map(Number);
      for (const i of node.instances) {
        assert.ok(ports.includes(i.port) && ports.includes(i.sideChannelPort), `stop checks ${i.port} and ${i.sideChannelPort}`);
        if (i.dpRank === 0) assert.ok(ports.includes(i.dpMasterPort!), "rank 0 holds the DP master port");
      }
      assert.ok(
        !ports.includes(plan.router.port) || node.instances.some((i) => i.port === plan.router.port),
        "the router port is the router script's",
      );
    }
  });
}

test("the router script runs the plan's router argv, polls /readiness (past the nodes' timeout) and pins the router version", () => {
  for (const { plan } of plans) {
    const script = renderRouterScript(plan);
    const baked = bakedServices(script);
    assert.deepEqual(baked.get("vllm-router"), { env: [], argv: plan.router.argv });
    assert.equal(bashEval(script, 'printf "%s" "${HEALTH_URLS[0]}"'), `http://127.0.0.1:${plan.router.port}/readiness`);
    // It starts with the nodes: its wait outlasts theirs by a minute.
    assert.equal(bashEval(script, 'printf "%s" "$HEALTH_TIMEOUT"'), String(plan.topology.healthTimeoutSecs + 60));
    assert.equal(bashEval(renderNodeScript(plan, plan.nodes[0].name), 'printf "%s" "$HEALTH_TIMEOUT"'), String(plan.topology.healthTimeoutSecs));
    assert.equal(bashEval(script, 'printf "%s" "$ROUTER_VERSION"'), VLLM_ROUTER_VERSION);
    assert.match(script, /\$STATE\/venv/);
    assert.ok(script.includes("_vllm_router_") || script.includes("/vllm_router_"), "log named vllm_router_<timestamp>.log");
  }
});

test("a topology with an HF token: the scripts name the token file, never the token", () => {
  const withToken = plans.find((p) => p.plan.topology.hasHfToken)!;
  const file = hfTokenFile(withToken.plan.topology.stateDir);
  for (const s of scripts(withToken.plan)) assert.ok(!s.text.includes(TOKEN), `${s.name} holds no token`);
  const node = renderNodeScript(withToken.plan, withToken.plan.nodes[0].name);
  assert.ok(node.includes(`EnvironmentFile=-${file}\n`), "systemd reads the token file");
  assert.ok(node.includes(`readonly HF_TOKEN_FILE=${file}\n`), "supervised mode reads the token file");
  const without = renderNodeScript(plans[0].plan, "pd-0");
  assert.ok(!without.includes("EnvironmentFile=") && without.includes("readonly HF_TOKEN_FILE=''\n"), "no token: no token file");
});

test("equal inputs render byte-identical scripts", () => {
  for (const { raw, plan } of plans) {
    const again = planCluster(parseTopology(raw));
    assert.deepEqual(scripts(again), scripts(plan));
  }
});

test("binding addresses changes exactly the addresses, and keeps the options the plan was made with", () => {
  const { plan } = plans[1];
  const addresses = { "prefill-0": "10.9.0.10", "prefill-1": "10.9.0.11", "decode-0": "10.9.0.20", "decode-1": "10.9.0.21", router: "10.9.0.99" };
  const unmap = (line: string) => Object.entries(addresses).reduce((l, [name, addr]) => l.split(addr).join(name), line);
  const bound = bindAddresses(plan, addresses);
  const pairs = [
    ...plan.nodes.map((n) => [renderNodeScript(plan, n.name), renderNodeScript(bound, n.name)]),
    [renderRouterScript(plan), renderRouterScript(bound)],
  ];
  for (const [before, after] of pairs) {
    const [b, a] = [before.split("\n"), after.split("\n")];
    assert.equal(a.length, b.length);
    const changed = a.filter((line, k) => line !== b[k]);
    assert.ok(changed.length > 0, "some address is baked in");
    a.forEach((line, k) => assert.equal(unmap(line), b[k]));
    assert.ok(changed.every((line) => Object.values(addresses).some((addr) => line.includes(addr))));
  }
  assert.deepEqual(bound, planCluster(plan.topology, { addresses }));
  const master = planCluster(plan.topology, { dpMaster: { decode: "10.9.9.9" } });
  const rebound = bindAddresses(bindAddresses(master, { "decode-1": "10.9.0.21" }), { "decode-0": "10.9.0.20" });
  assert.deepEqual(rebound.options, { dpMaster: { decode: "10.9.9.9" }, addresses: { "decode-1": "10.9.0.21", "decode-0": "10.9.0.20" } });
  const d1 = rebound.instances.find((i) => i.node === "decode-1")!;
  assert.equal(d1.dpMasterAddress, "10.9.9.9", "an explicit DP master stays");
  assert.equal(d1.env.VLLM_NIXL_SIDE_CHANNEL_HOST, "10.9.0.21", "earlier bindings stay");
});

test("an unknown node is a clear error naming the nodes there are", () => {
  assert.throws(() => renderNodeScript(plans[0].plan, "pd-7"), /no node named "pd-7" \(nodes: pd-0\)/);
});

test("values the host script cannot carry are refused at parse time, before any rendering", () => {
  assert.throws(() => parseTopology({ env: { BAD: "two\nlines" } }), /env\.BAD: must be one line/);
  assert.throws(() => parseTopology({ stateDir: "/var/lib/gaudi pd" }), /stateDir: must be an absolute, normalized path/);
  assert.throws(
    () => planCluster(parseTopology({}), { addresses: { "prefill-0": "10.0.0.1\ntouch /tmp/x" } }),
    /addresses\.prefill-0: must be an IPv4/,
  );
});

test("usage: no verb or an unknown verb exits 2 before doing anything", () => {
  const stateDir = path.join(tmp, "usage-state");
  const plan = planCluster(parseTopology({ stateDir, logDir: path.join(tmp, "usage-log") }));
  const file = path.join(tmp, "usage.sh");
  fs.writeFileSync(file, renderNodeScript(plan, "prefill-0"));
  for (const args of [[], ["install", "bogus"], ["start", "--force"]]) {
    const r = spawnSync("bash", [file, ...args], { encoding: "utf8" });
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /usage: bash usage\.sh VERB/);
  }
  assert.equal(fs.existsSync(stateDir), false, "install did not run");
});
