// The seed README's worked examples and the decisions of docs/architecture.md#decisions, pinned.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { InstancePlan, planCluster } from "../components/plan";
import { ConfigError, formatProblem } from "../components/problems";
import { parseTopology } from "../components/topology";

const plan = (raw: object, addresses: Record<string, string> = {}) => planCluster(parseTopology(raw), { addresses });
const of = (instances: readonly InstancePlan[], node: string) => instances.filter((i) => i.node === node);
const argValue = (i: InstancePlan, flag: string) => {
  const k = i.argv.indexOf(flag);
  return k < 0 ? undefined : i.argv[k + 1];
};

test("seed 'Example Port Layout': node 0 and node 1, two instances of each role", () => {
  const p = plan({ prefill: { nodes: 2, instancesPerNode: 2 }, decode: { nodes: 2, instancesPerNode: 2 } });
  assert.deepEqual(
    of(p.instances, "prefill-0").map((i) => i.port),
    [8300, 8301],
  );
  assert.deepEqual(
    of(p.instances, "decode-0").map((i) => i.port),
    [9300, 9301],
  );
  assert.deepEqual(
    of(p.instances, "prefill-1").map((i) => i.port),
    [8308, 8309],
  );
  assert.deepEqual(
    of(p.instances, "decode-1").map((i) => i.port),
    [9308, 9309],
  );
});

test("seed single node: 4 prefill + 4 decode with DP 4, and the router's worker list", () => {
  const p = plan(
    { colocate: true, prefill: { instancesPerNode: 4, dpSize: 4 }, decode: { instancesPerNode: 4, dpSize: 4 }, router: { placement: "pd-0" } },
    { "pd-0": "localhost" },
  );
  assert.deepEqual(
    p.router.prefillUrls,
    [8300, 8301, 8302, 8303].map((x) => `http://localhost:${x}`),
  );
  assert.deepEqual(
    p.router.decodeUrls,
    [9300, 9301, 9302, 9303].map((x) => `http://localhost:${x}`),
  );
  assert.deepEqual(
    p.instances.map((i) => i.dpRank),
    [0, 1, 2, 3, 0, 1, 2, 3],
  );
  assert.deepEqual(
    p.instances.map((i) => i.env.HABANA_VISIBLE_MODULES),
    ["0", "1", "2", "3", "4", "5", "6", "7"],
  );
  assert.deepEqual(
    p.instances.map((i) => `${i.dpMasterAddress}:${i.dpMasterPort}`),
    [...Array(4).fill("localhost:6300"), ...Array(4).fill("localhost:7300")],
  );
});

test("seed multi-node: 2 prefill + 2 decode nodes, 8 instances each, DP 16, masters on rank-0 nodes", () => {
  const addresses = { "prefill-0": "192.168.1.100", "prefill-1": "192.168.1.101", "decode-0": "192.168.1.102", "decode-1": "192.168.1.103" };
  const role = { nodes: 2, instancesPerNode: 8, dpSize: 16 };
  const p = plan({ prefill: role, decode: role }, addresses);
  const expect = [
    ["prefill-0", 8300, 0, "192.168.1.100", 6300],
    ["prefill-1", 8308, 8, "192.168.1.100", 6300],
    ["decode-0", 9300, 0, "192.168.1.102", 7300],
    ["decode-1", 9308, 8, "192.168.1.102", 7300],
  ] as const;
  for (const [node, firstPort, firstRank, master, masterPort] of expect) {
    const xs = of(p.instances, node);
    assert.deepEqual(
      xs.map((i) => i.port),
      Array.from({ length: 8 }, (_, k) => firstPort + k),
      node,
    );
    assert.deepEqual(
      xs.map((i) => i.dpRank),
      Array.from({ length: 8 }, (_, k) => firstRank + k),
      node,
    );
    for (const i of xs) {
      assert.equal(argValue(i, "--data-parallel-address"), master);
      assert.equal(argValue(i, "--data-parallel-rpc-port"), String(masterPort));
      assert.equal(argValue(i, "--data-parallel-size"), "16");
      assert.equal(i.env.VLLM_NIXL_SIDE_CHANNEL_HOST, addresses[node as keyof typeof addresses]);
    }
  }
});

test("ports: decode shifts serve, side-channel and DP-master ports by 1000; side channel adds the DP rank", () => {
  const p = plan({ decode: { nodes: 2, instancesPerNode: 8, dpSize: 16 } });
  const i = of(p.instances, "decode-1")[3];
  assert.equal(i.port, 8300 + 1000 + 8 + 3);
  assert.equal(i.env.VLLM_NIXL_SIDE_CHANNEL_PORT, String(4300 + 1000 + 8 + 3));
  assert.equal(i.sideChannelPort, 4300 + 1000 + 8 + 3 + 11);
  assert.equal(i.dpMasterPort, 6300 + 1000);
});

test("DP ranks: no DP flags when dpSize is 1; vLLM's spelling when it is not", () => {
  const solo = plan({ prefill: { instancesPerNode: 2 } }).instances[0];
  assert.equal(solo.dpRank, null);
  assert.ok(!solo.argv.some((a) => a.startsWith("--data-parallel")));
  const dp = plan({ prefill: { instancesPerNode: 2, dpSize: 2 } }).instances[1];
  assert.deepEqual(
    dp.argv.filter((a) => a.startsWith("--data-parallel")),
    ["--data-parallel-size", "--data-parallel-rank", "--data-parallel-address", "--data-parallel-rpc-port"],
  );
  assert.ok(!dp.argv.includes("--data-parallel-addr"));
});

test("HPU pinning: TP instances get consecutive modules; colocated decode takes the modules after prefill's", () => {
  const p = plan({
    colocate: true,
    prefill: { instancesPerNode: 2, tpSize: 2, dpSize: 2 },
    decode: { instancesPerNode: 4 },
    router: { placement: "pd-0" },
  });
  assert.deepEqual(
    p.instances.map((i) => i.env.HABANA_VISIBLE_MODULES),
    ["0,1", "2,3", "4", "5", "6", "7"],
  );
  assert.deepEqual(
    p.instances.slice(0, 2).map((i) => argValue(i, "--tensor-parallel-size")),
    ["2", "2"],
  );
});

test("NIXL buffer device: hpu buffers add gaudi_gdr once and switch device-to-device on", () => {
  const table: Array<[object, string, string, string | undefined]> = [
    [{}, "rc,ud,ib", "false", undefined],
    [{ nixl: { bufferDevice: "hpu" } }, "rc,ud,ib,gaudi_gdr", "true", "0"],
    [{ nixl: { bufferDevice: "hpu", ucxTls: "rc,gaudi_gdr" } }, "rc,gaudi_gdr", "true", "0"],
    [{ decode: { nixl: { bufferDevice: "hpu" } } }, "rc,ud,ib", "false", undefined],
  ];
  for (const [raw, tls, d2d, memtype] of table) {
    const i = plan(raw).instances[0];
    assert.equal(i.env.UCX_TLS, tls, JSON.stringify(raw));
    assert.equal(i.env.VLLM_NIXL_DEVICE_TO_DEVICE, d2d);
    assert.equal(i.env.UCX_MEMTYPE_CACHE, memtype);
  }
});

test("kv-transfer-config: one JSON object per role", () => {
  const p = plan({ nixl: { backend: "LIBFABRIC" } });
  const cfg = (role: string) =>
    JSON.parse(
      argValue(
        p.instances.find((i) => i.role === role)!,
        "--kv-transfer-config",
      )!,
    );
  assert.deepEqual(cfg("prefill"), {
    kv_connector: "NixlConnector",
    kv_role: "kv_producer",
    kv_buffer_device: "cpu",
    kv_connector_extra_config: { backends: ["LIBFABRIC"] },
  });
  assert.equal(cfg("decode").kv_role, "kv_consumer");
});

test("role bucketing and launcher switches", () => {
  const p = plan({
    maxNumBatchedTokens: 512,
    maxModelLen: 1000,
    maxNumSeqs: 3,
    decode: { asyncScheduling: true },
    expertParallel: false,
    prefixCaching: true,
  });
  const pre = p.instances.find((i) => i.role === "prefill")!;
  const dec = p.instances.find((i) => i.role === "decode")!;
  assert.equal(pre.env.VLLM_PROMPT_BS_BUCKET_MAX, "4"); // min(512/128, 3, 8) = 3, rounded up to 2 → 4
  assert.equal(pre.env.VLLM_PROMPT_QUERY_BUCKET_MAX, "1024");
  assert.equal(pre.env.VLLM_PROMPT_CTX_BUCKET_MAX, undefined);
  assert.equal(dec.env.VLLM_EXPONENTIAL_BUCKETING, "true");
  assert.equal(dec.env.VLLM_MOE_CHUNK, "64, 128");
  assert.ok(dec.argv.includes("--async-scheduling") && !pre.argv.includes("--async-scheduling"));
  assert.ok(pre.argv.includes("--enable-prefix-caching") && !pre.argv.includes("--enable-expert-parallel"));
  const defaults = plan({}).instances[0];
  assert.equal(defaults.env.VLLM_SKIP_WARMUP, "True");
  assert.equal(defaults.env.VLLM_PROMPT_CTX_BUCKET_MAX, "0");
  assert.ok(defaults.argv.includes("--no-enable-prefix-caching") && defaults.argv.includes("--enable-expert-parallel"));
});

test("INC quantization, profiling, recipe cache and extra env reach the instance", () => {
  const i = plan({ incConfig: "/opt/inc.json", profile: true, recipeCacheDir: "/cache", env: { FOO: "bar" }, logDir: "/logs" }).instances[0];
  assert.equal(i.env.QUANT_CONFIG, "/opt/inc.json");
  assert.equal(argValue(i, "--kv_cache_dtype"), "fp8_inc");
  assert.equal(i.env.HABANA_PROFILE, "1");
  assert.equal(i.env.VLLM_TORCH_PROFILER_DIR, "/logs/profile_prefill_0_0");
  assert.equal(i.env.PT_HPU_RECIPE_CACHE_CONFIG, "/cache/prefill_0_0,false,131072");
  assert.equal(i.env.FOO, "bar");
});

test("per-role settings override shared ones", () => {
  const p = plan({ maxNumSeqs: 64, decode: { maxNumSeqs: 512 } });
  assert.deepEqual(
    p.instances.map((i) => argValue(i, "--max-num-seqs")),
    ["64", "512"],
  );
});

test("refusals: HPU capacity, side channels of TP workers, router placement", () => {
  const refused = (raw: object) => {
    try {
      plan(raw);
    } catch (e) {
      return (e as ConfigError).problems.map((p) => formatProblem(p));
    }
    return [];
  };
  assert.match(refused({ prefill: { instancesPerNode: 8, tpSize: 2 } })[0], /^prefill\.instancesPerNode: .*16 HPUs, more than the 8 HPUs/);
  assert.match(
    refused({ colocate: true, prefill: { instancesPerNode: 6 }, decode: { instancesPerNode: 4 }, router: { placement: "pd-0" } })[0],
    /^colocate: .*10 HPUs per node/,
  );
  assert.deepEqual(refused({ prefill: { instancesPerNode: 2, tpSize: 2 } }), [], "perEngine (the default) binds one port per instance");
  const perWorker = refused({ prefill: { instancesPerNode: 2, tpSize: 2, nixl: { sideChannelLayout: "perTpWorker" } } });
  assert.equal(perWorker.length, 1);
  assert.match(
    perWorker[0],
    /^prefill\.nixl\.sideChannelLayout: prefill-0 port 4301 is used by both prefill-0 prefill instance 0 \(NIXL side channel tp 1\) and prefill-0 prefill instance 1 \(NIXL side channel tp 0\); .*set perEngine.*dpSize 2/,
  );
  assert.match(refused({ router: { placement: "decode-3" } })[0], /^router\.placement: no node named decode-3/);
  assert.match(
    refused({ router: { port: 8300, placement: "prefill-0" } })[0],
    /^ports: prefill-0 port 8300 is used by both prefill-0 prefill instance 0 \(serve\) and router/,
  );
});

test("ports (side-channel layout): the seed's TP scenarios plan with one listener per engine; perTpWorker binds one per TP worker", () => {
  for (const [instancesPerNode, tpSize] of [
    [4, 2],
    [2, 4],
  ]) {
    const p = plan({ prefill: { instancesPerNode, tpSize }, decode: { instancesPerNode, tpSize } });
    for (const i of p.instances) {
      assert.deepEqual(i.sideChannelPorts, [Number(i.env.VLLM_NIXL_SIDE_CHANNEL_PORT)], "env value + DP index 0");
      assert.equal(i.sideChannelPort, i.sideChannelPorts[0]);
      assert.equal(i.env.GAUDI_PD_NIXL_SIDE_CHANNEL_LAYOUT, "perEngine");
    }
  }
  const dp = plan({ decode: { nodes: 2, instancesPerNode: 4, tpSize: 2, dpSize: 8, nixl: { sideChannelLayout: "perTpWorker" } } });
  const d = dp.instances.find((i) => i.role === "decode" && i.nodeRank === 1 && i.instance === 3)!;
  // env value 4300 + 1000 + 8·1 + 3, DP rank 7, TP 2: 7·2 + 0 and 7·2 + 1 on top.
  assert.deepEqual(d.sideChannelPorts, [5311 + 14, 5311 + 15]);
  assert.equal(d.env.GAUDI_PD_NIXL_SIDE_CHANNEL_LAYOUT, "perTpWorker");
  const prefill = dp.instances.find((i) => i.role === "prefill")!;
  assert.equal(prefill.env.GAUDI_PD_NIXL_SIDE_CHANNEL_LAYOUT, "perEngine", "the layout is per role");
});

test("no node cap but the port range: 512 nodes of 8 plan; a count whose ports pass 65535 is refused at once, naming the limit", () => {
  // DP ranks in the thousands push side channels past 6300 and 8300: the bench's channel base keeps them clear.
  const big = plan({
    ports: { channelBase: 12000 },
    prefill: { nodes: 512, instancesPerNode: 8, dpSize: 4096 },
    decode: { nodes: 512, instancesPerNode: 8 },
  });
  assert.equal(big.instances.length, 8192);
  const refusedAt = (raw: object) => {
    try {
      plan(raw);
    } catch (e) {
      return (e as { problems: { path: string; message: string }[] }).problems;
    }
    return [];
  };
  // decode serve ports: 8300 + 1000 + 8·rank; 9300 + 8·7029 = 65532 is the last that fits.
  assert.deepEqual(refusedAt({ decode: { nodes: 7030 } }), []);
  assert.deepEqual(
    refusedAt({ ports: { base: 65000 }, decode: { nodes: 100_000_000 } }).find((x) => x.path === "ports")?.message,
    "decode serve ports pass 65535 on the first node already; lower the port bases",
  );
  const [p] = refusedAt({ decode: { nodes: 100_000_000 } });
  assert.equal(p.path, "decode.nodes");
  assert.match(
    p.message,
    /^100000000 puts decode serve ports up to 800009292, above 65535 \(each node rank adds 8 to every port\); at most 7030 fit under these port bases$/,
  );
  // With DP the side channel grows by the DP rank too and overflows first: 4300 + 8·r + 7 + (8·r + 7) ≤ 65535 for r ≤ 3826.
  const [dp] = refusedAt({ prefill: { nodes: 7000, instancesPerNode: 8, dpSize: 56000 } });
  assert.match(
    dp.message,
    /NIXL side-channel ports up to \d+, above 65535 \(each node rank adds 8 to every port and each DP rank adds to the side channel\); at most 3827 fit/,
  );
});
