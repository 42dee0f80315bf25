// ExistingHosts under mocks: the hosts of infra.kind=hosts as the same outputs GaudiNodes gives, reached
// directly or through a bastion, and nothing in the cloud.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ExistingHosts } from "../components/existingHosts";
import { HostInfo, hostInfos } from "../components/hosts";
import { planCluster } from "../components/plan";
import { parseTopology } from "../components/topology";
import { countsByType, named, reveal, runMocked, runProgram, stackConfig, TEST_PRIVATE_KEY, TYPES } from "./helpers/pulumiMocks";

const withInfra = (change: Record<string, unknown>) => (c: Record<string, unknown>) => Object.assign(c["gaudi-pd:infra"] as object, change);
const connectionOf = (r: Awaited<ReturnType<typeof runProgram>>, name: string) => reveal(named(r, name).inputs.connection) as Record<string, unknown>;

test("hosts stack: only commands, on the listed machines; node outputs from the config", async () => {
  const { config, secretKeys } = stackConfig("hosts");
  const r = await runProgram(config, secretKeys);
  assert.deepEqual(countsByType(r), { [TYPES.stack]: 1, [TYPES.pdCluster]: 1, [TYPES.existingHosts]: 1, [TYPES.pdServing]: 1, [TYPES.command]: 15 });
  assert.deepEqual(r.outputs.nodes, [
    { role: "prefill", rank: 0, name: "prefill-0", privateAddress: "192.0.2.10", publicAddress: "203.0.113.10" },
    { role: "prefill", rank: 1, name: "prefill-1", privateAddress: "192.0.2.11", publicAddress: "203.0.113.11" },
    { role: "decode", rank: 0, name: "decode-0", privateAddress: "192.0.2.12", publicAddress: "203.0.113.12" },
    { role: "decode", rank: 1, name: "decode-1", privateAddress: "192.0.2.13", publicAddress: "203.0.113.13" },
  ]);
  assert.equal(r.outputs.routerUrl, "http://203.0.113.20:9192");
  const conn = connectionOf(r, "gaudi-pd-decode-1-serve");
  assert.deepEqual(
    { host: conn.host, user: conn.user, port: conn.port, proxy: conn.proxy },
    { host: "203.0.113.13", user: "ubuntu", port: 22, proxy: undefined },
  );
  assert.equal(connectionOf(r, "gaudi-pd-router-serve").host, "203.0.113.20");
  const script = reveal(named(r, "gaudi-pd-decode-1-serve").inputs.stdin) as string;
  assert.match(script, /--data-parallel-address 192\.0\.2\.12\b/);
  assert.match(script, /VLLM_NIXL_SIDE_CHANNEL_HOST=192\.0\.2\.13\b/);
});

test("bastion: every connection goes through it as the connection's proxy, with the same key", async () => {
  const { config, secretKeys } = stackConfig("hosts", withInfra({ bastion: { address: "bastion.example.net", user: "jump", port: 2222 } }));
  const r = await runProgram(config, secretKeys);
  for (const name of ["gaudi-pd-prefill-0-ready", "gaudi-pd-decode-1-serve", "gaudi-pd-router-serve", "gaudi-pd-decode-0-hf-token"]) {
    const conn = connectionOf(r, name);
    assert.deepEqual(
      conn.proxy,
      { host: "bastion.example.net", user: "jump", port: 2222, privateKey: TEST_PRIVATE_KEY, dialErrorLimit: 10, perDialTimeout: 15 },
      name,
    );
  }
});

test("per-host user and port override the infra's; a host without a private address is reached on its address", async () => {
  const { config, secretKeys } = stackConfig(
    "hosts",
    withInfra({
      sshUser: "gaudi",
      sshPort: 2200,
      decode: [
        { address: "203.0.113.12", privateAddress: "192.0.2.12" },
        { address: "192.0.2.13", user: "root", port: 22 },
      ],
    }),
  );
  const r = await runProgram(config, secretKeys);
  assert.deepEqual(
    [connectionOf(r, "gaudi-pd-decode-0-serve"), connectionOf(r, "gaudi-pd-decode-1-serve")].map((c) => [c.host, c.user, c.port]),
    [
      ["203.0.113.12", "gaudi", 2200],
      ["192.0.2.13", "root", 22],
    ],
  );
  assert.deepEqual((r.outputs.nodes as HostInfo[])[3], {
    role: "decode",
    rank: 1,
    name: "decode-1",
    privateAddress: "192.0.2.13",
    publicAddress: "192.0.2.13",
  });
});

test("colocated hosts and a router on a node: pd hosts, no router host even when one is listed", async () => {
  const topology = parseTopology({
    colocate: true,
    prefill: { nodes: 2, instancesPerNode: 4 },
    decode: { nodes: 2, instancesPerNode: 4 },
    router: { placement: "pd-1" },
    infra: {
      kind: "hosts",
      pd: [{ address: "10.0.0.1" }, { address: "10.0.0.2" }],
      router: { address: "10.0.0.9" },
      bastion: { address: "10.0.0.254" },
    },
  });
  let infos: HostInfo[] = [];
  let secret: boolean[] = [];
  await runMocked(() => {
    const hosts = new ExistingHosts("gaudi-pd", { plan: planCluster(topology), sshPrivateKey: pulumi.secret(TEST_PRIVATE_KEY) });
    hostInfos(hosts.hosts).apply((v) => (infos = v));
    pulumi.all(hosts.hosts.map((h) => (h.connection as unknown as { isSecret: Promise<boolean> }).isSecret)).apply((v) => (secret = v));
    return {};
  });
  assert.deepEqual(infos, [
    { role: "pd", rank: 0, name: "pd-0", privateAddress: "10.0.0.1", publicAddress: "10.0.0.1" },
    { role: "pd", rank: 1, name: "pd-1", privateAddress: "10.0.0.2", publicAddress: "10.0.0.2" },
  ]);
  assert.deepEqual(secret, [true, true]);
});

test("ExistingHosts refuses an AWS topology, GaudiNodes' job", () => {
  const topology = parseTopology({ infra: { kind: "aws", ami: { id: "ami-0abc" }, sshCidrs: ["10.0.0.0/8"] } });
  assert.throws(
    () => new ExistingHosts("x", { plan: planCluster(topology), sshPrivateKey: "k" }),
    /infra\.kind: ExistingHosts needs "hosts", got "aws"/,
  );
});
