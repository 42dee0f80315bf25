// Topology parsing: the seed's defaults, per-role overrides, and stack config as the engine hands it over.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { ConfigError, formatProblem } from "../components/problems";
import { deployProblems, knownAddresses, parseTopology, ROUTER_AFTER_WORKERS_SECS } from "../components/topology";
import { rawTopologyFromConfig, SECRET_PLACEHOLDER, stackFileSecretProblems } from "../components/stackConfig";
import { planCluster } from "../components/plan";

test("an empty config is the seed's defaults", () => {
  const t = parseTopology({});
  assert.equal(t.model, "ibm-research/PowerMoE-3b");
  assert.deepEqual(t.ports, { base: 8300, channelBase: 4300, dpMaster: 6300 });
  assert.deepEqual(t.prefill.nixl, { bufferDevice: "cpu", backend: "UCX", ucxTls: "rc,ud,ib", sideChannelLayout: "perEngine" });
  for (const r of [t.prefill, t.decode]) {
    assert.deepEqual([r.nodes, r.instancesPerNode, r.tpSize, r.dpSize], [1, 1, 1, 1]);
    assert.deepEqual([r.maxModelLen, r.maxNumBatchedTokens, r.maxNumSeqs, r.enforceEager], [8192, 8192, 256, false]);
  }
  assert.equal(t.hpusPerNode, 8);
  assert.equal(t.infra, null);
});

test("a role block overrides shared settings, field by field, nixl included", () => {
  const t = parseTopology({
    maxModelLen: 4096,
    nixl: { bufferDevice: "hpu", ucxTls: "rc" },
    decode: { maxModelLen: 2048, nixl: { ucxTls: "ud", sideChannelLayout: "perTpWorker" } },
  });
  assert.equal(t.prefill.maxModelLen, 4096);
  assert.equal(t.decode.maxModelLen, 2048);
  assert.deepEqual(t.decode.nixl, { bufferDevice: "hpu", backend: "UCX", ucxTls: "ud", sideChannelLayout: "perTpWorker" });
  assert.deepEqual(t.prefill.nixl, { bufferDevice: "hpu", backend: "UCX", ucxTls: "rc", sideChannelLayout: "perEngine" });
});

test("config from the engine arrives as strings: JSON is decoded, other namespaces ignored, the token masked", () => {
  const raw = rawTopologyFromConfig({
    "gaudi-pd:model": "meta-llama/Llama-3.1-8B",
    "gaudi-pd:colocate": "true",
    "gaudi-pd:prefill": '{"instancesPerNode":2,"dpSize":2}',
    "gaudi-pd:hfToken": "hf_real_token",
    "aws:region": "us-east-1",
  });
  assert.deepEqual(raw, {
    model: "meta-llama/Llama-3.1-8B",
    colocate: true,
    prefill: { instancesPerNode: 2, dpSize: 2 },
    hfToken: SECRET_PLACEHOLDER,
  });
  assert.equal(parseTopology({ ...raw, router: { placement: "pd-0" } }).hasHfToken, true);
});

test("a stack file must hold the token as a secret", () => {
  assert.deepEqual(stackFileSecretProblems({ "gaudi-pd:hfToken": { secure: "v1:abc" } }), []);
  assert.equal(stackFileSecretProblems({ "gaudi-pd:hfToken": "hf_x" }).length, 1);
});

test("existing hosts give addresses by node name, private before public", () => {
  const t = parseTopology({
    prefill: { nodes: 2 },
    infra: {
      kind: "hosts",
      prefill: [{ address: "203.0.113.1", privateAddress: "192.0.2.1" }, { address: "203.0.113.2" }],
      decode: [{ address: "203.0.113.3" }],
      router: { address: "203.0.113.4" },
    },
  });
  assert.deepEqual(knownAddresses(t), { "prefill-0": "192.0.2.1", "prefill-1": "203.0.113.2", "decode-0": "203.0.113.3", router: "203.0.113.4" });
});

test("AWS can be planned without a key but not deployed", () => {
  const t = parseTopology({ infra: { kind: "aws", ami: { id: "ami-0abc" }, sshCidrs: ["203.0.113.0/24"] } });
  assert.match(formatProblem(deployProblems(t)[0]), /^infra\.publicKey: required to deploy on AWS/);
  assert.throws(
    () => parseTopology({ infra: { kind: "aws", ami: { id: "ami-0abc" }, sshCidrs: ["x"] } }),
    (e: ConfigError) => /^infra\.sshCidrs\[0\]: must be an IPv4 CIDR/.test(formatProblem(e.problems[0])),
  );
});

test("schema and cross-field problems come together, without guesses built on refused values", () => {
  const problems = (raw: object) => {
    try {
      parseTopology(raw);
    } catch (e) {
      return (e as ConfigError).problems.map((p) => formatProblem(p));
    }
    return [];
  };
  assert.deepEqual(problems({ prefil: {}, decode: { nodes: 2, instancesPerNode: 8, dpSize: 12 } }), [
    'prefil: unknown key (did you mean "prefill"?)',
    "decode.dpSize: must be 1 or instancesPerNode × nodes (16), got 12",
  ]);
  assert.deepEqual(problems({ infra: { kind: "gcp" }, decode: { dpSize: 3, instancesPerNode: 2 } }), [
    'infra.kind: must be one of aws | hosts, got "gcp"',
    "decode.dpSize: must be 1 or instancesPerNode × nodes (2), got 3",
  ]);
  // A refused nodes count would default to 1 and make dpSize look wrong: that guess is not reported.
  assert.deepEqual(problems({ decode: { nodes: "two", instancesPerNode: 8, dpSize: 16 } }), ['decode.nodes: must be a number, got "two"']);
});

test("router.host, renamed router.bindAddress, is refused with its new name; bindAddress is vllm-router's --host", () => {
  assert.throws(
    () => parseTopology({ router: { host: "127.0.0.1" } }),
    (e: ConfigError) => {
      assert.deepEqual(e.problems, [{ path: "router.host", message: "renamed to router.bindAddress" }]);
      return true;
    },
  );
  const t = parseTopology({ router: { bindAddress: "127.0.0.1" } });
  assert.equal(t.router.bindAddress, "127.0.0.1");
  const argv = planCluster(t).router.argv;
  assert.equal(argv[argv.indexOf("--host") + 1], "127.0.0.1");
});

test("the router waits for its workers as long as they may take to start, unless the config says otherwise", () => {
  const timeoutOf = (raw: object) => {
    const argv = planCluster(parseTopology(raw)).router.argv;
    return argv[argv.indexOf("--worker-startup-timeout-secs") + 1];
  };
  assert.equal(timeoutOf({}), String(1200 + ROUTER_AFTER_WORKERS_SECS), "the nodes' default health timeout, and a minute");
  assert.equal(timeoutOf({ healthTimeoutSecs: 3000 }), String(3000 + ROUTER_AFTER_WORKERS_SECS));
  assert.equal(timeoutOf({ healthTimeoutSecs: 3000, router: { workerStartupTimeoutSecs: 900 } }), "900");
});
