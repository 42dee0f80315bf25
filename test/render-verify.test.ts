// The verify step, pure: the topology switch, the default request count per decode policy, the data the rendered
// script bakes in (quoted), and the router's Prometheus bind address.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { planCluster } from "../components/plan";
import { defaultVerifyRequests, instanceLabel, renderVerifyScript } from "../components/render/verifyScript";
import { ConfigError, formatProblem } from "../components/problems";
import { parseTopology } from "../components/topology";

const problemsOf = (raw: unknown): readonly string[] => {
  try {
    parseTopology(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => formatProblem(p));
    throw e;
  }
  return [];
};

const addresses = { "prefill-0": "10.1.0.10", "prefill-1": "10.1.0.11", "decode-0": "10.2.0.10", "decode-1": "10.2.0.11", router: "10.4.0.10" };
const twoByTwo = { prefill: { nodes: 2, instancesPerNode: 2 }, decode: { nodes: 2, instancesPerNode: 2 } };

/** The value of `readonly NAME=…` in a rendered script, as bash reads it. */
function bashValue(script: string, name: string): string {
  const data = script
    .split("\n")
    .filter((l) => l.startsWith("readonly "))
    .join("\n");
  return execFileSync("bash", ["-c", `${data}\nprintf '%s\\n' "\${${name}[@]}"`], { encoding: "utf8" }).trimEnd();
}

test("verify: on by default; false turns it off; {requests: N} sets the count; anything else is refused with its path", () => {
  assert.deepEqual(parseTopology({}).verify, { enabled: true, requests: null });
  assert.deepEqual(parseTopology({ verify: false }).verify, { enabled: false, requests: null });
  assert.deepEqual(parseTopology({ verify: { requests: 7 } }).verify, { enabled: true, requests: 7 });
  for (const bad of ["yes", { requests: 0 }, { requests: 1.5 }, { requests: 5, every: 1 }]) {
    const problems = problemsOf({ verify: bad });
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.match(problems[0], /^verify/);
  }
  assert.match(problemsOf({ router: { metricsBindAddress: "$(reboot)" } })[0], /^router\.metricsBindAddress: must be an IPv4 or IPv6 address/);
});

test("default requests reach every decode instance: one round per instance (twice) when spread, the coupon collector's when random", () => {
  const withPolicy = (decodePolicy: string) => parseTopology({ router: { decodePolicy } });
  assert.equal(defaultVerifyRequests(withPolicy("round_robin"), 16), 32);
  assert.equal(defaultVerifyRequests(withPolicy("cache_aware"), 1), 4);
  assert.equal(defaultVerifyRequests(withPolicy("random"), 16), Math.ceil(32 * (1 + Math.log(16))));
  for (const policy of ["random", "power_of_two", "consistent_hash", "round_robin", "cache_aware"])
    for (const n of [1, 2, 3, 8, 16, 64]) assert.ok(defaultVerifyRequests(withPolicy(policy), n) >= 2 * n, `${policy} ${n}`);
});

test("the rendered check names every instance, its URL and each prefill's expected side channel, from the bound plan", () => {
  const plan = planCluster(parseTopology(twoByTwo), { addresses });
  const script = renderVerifyScript(plan);
  execFileSync("bash", ["-n", "-c", script]);
  assert.equal(
    bashValue(script, "DECODE_NAMES"),
    ["decode-0 instance 0", "decode-0 instance 1", "decode-1 instance 0", "decode-1 instance 1"].join("\n"),
  );
  assert.equal(
    bashValue(script, "DECODE_URLS"),
    ["http://10.2.0.10:9300", "http://10.2.0.10:9301", "http://10.2.0.11:9308", "http://10.2.0.11:9309"].join("\n"),
  );
  assert.equal(bashValue(script, "PREFILL_NODES"), ["prefill-0", "prefill-0", "prefill-1", "prefill-1"].join("\n"));
  assert.equal(bashValue(script, "PREFILL_CHANNELS"), ["10.1.0.10:4300", "10.1.0.10:4301", "10.1.0.11:4308", "10.1.0.11:4309"].join("\n"));
  assert.equal(bashValue(script, "ROUTER_URL"), "http://127.0.0.1:9192");
  assert.equal(bashValue(script, "REQUESTS"), "8");
  assert.equal(
    renderVerifyScript(planCluster(parseTopology({ ...twoByTwo, verify: { requests: 3 } }), { addresses })).includes("readonly REQUESTS=3\n"),
    true,
  );
  assert.equal(renderVerifyScript(plan), script, "pure");
});

test("a model name with quotes and shell syntax (refused by the schema, still harmless here) reaches the requests as one JSON string", () => {
  const model = `org/it's "$(touch /tmp/x)"`;
  const topology = { ...parseTopology({}), model };
  const script = renderVerifyScript(planCluster(topology, { addresses: { "prefill-0": "10.0.0.1", "decode-0": "10.0.0.2", router: "10.0.0.3" } }));
  assert.equal(bashValue(script, "MODEL_JSON"), JSON.stringify(model));
});

test("instances are named by node and index; a colocated node also names the role", () => {
  const colocated = planCluster(
    parseTopology({ colocate: true, prefill: { instancesPerNode: 2 }, decode: { instancesPerNode: 2 }, router: { placement: "pd-0" } }),
  );
  assert.deepEqual(colocated.instances.map(instanceLabel), [
    "pd-0 prefill instance 0",
    "pd-0 prefill instance 1",
    "pd-0 decode instance 0",
    "pd-0 decode instance 1",
  ]);
  assert.equal(instanceLabel(planCluster(parseTopology(twoByTwo)).instances[6]), "decode-1 instance 0");
});

test("the router's Prometheus endpoint binds its host's address, or router.metricsBindAddress", () => {
  const argv = (raw: object) => planCluster(parseTopology(raw), { addresses }).router.argv;
  const after = (words: readonly string[], flag: string) => words[words.indexOf(flag) + 1];
  assert.equal(after(argv(twoByTwo), "--prometheus-host"), "10.4.0.10");
  assert.equal(after(argv({ ...twoByTwo, router: { placement: "prefill-1" } }), "--prometheus-host"), "10.1.0.11");
  assert.equal(after(argv({ ...twoByTwo, router: { metricsBindAddress: "0.0.0.0" } }), "--prometheus-host"), "0.0.0.0");
});
