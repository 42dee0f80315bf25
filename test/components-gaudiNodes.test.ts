// GaudiNodes under mocks: what the AWS stacks register, type by type — counts, the security group's openings,
// EFA wiring, placement, IMDSv2, encrypted roots — and the pure layout helpers behind them.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { chooseSubnet, gaudiInterfaces, openings } from "../components/gaudiNodes";
import { AwsInfra, parseTopology } from "../components/topology";
import {
  AMI_ID,
  byType,
  countsByType,
  DEFAULT_VPC,
  named,
  Run,
  runProgram,
  stackConfig,
  SUBNETS,
  TEST_PUBLIC_KEY,
  TYPES,
  ZONES,
} from "./helpers/pulumiMocks";

const run = async (stack: string, edit?: (c: Record<string, unknown>) => void) => {
  const { config, secretKeys } = stackConfig(stack, edit);
  return runProgram(config, secretKeys);
};
const editInfra = (change: Record<string, unknown>) => (c: Record<string, unknown>) => Object.assign(c["gaudi-pd:infra"] as object, change);

test("single-node: one colocated Gaudi node (4 prefill + 4 decode, dp 4 each) with the router beside it", async () => {
  assert.deepEqual(countsByType(await run("single-node")), {
    [TYPES.stack]: 1,
    [TYPES.pdCluster]: 1,
    [TYPES.gaudiNodes]: 1,
    [TYPES.pdServing]: 1,
    [TYPES.securityGroup]: 1,
    [TYPES.ingress]: 3, // self, SSH, router
    [TYPES.egress]: 2, // self, all
    [TYPES.placementGroup]: 1,
    [TYPES.keyPair]: 1,
    [TYPES.launchTemplate]: 1,
    [TYPES.instance]: 1, // pd-0; router.placement is pd-0, so no router instance
    [TYPES.eip]: 1,
    [TYPES.command]: 5, // pd-0-ready, pd-0-hf-token, pd-0-serve, router-serve, gaudi-pd-verify
  });
});

test("multi-node: 2 prefill + 2 decode nodes × 8 instances (dp 16) and a dedicated router instance", async () => {
  const r = await run("multi-node");
  assert.deepEqual(countsByType(r), {
    [TYPES.stack]: 1,
    [TYPES.pdCluster]: 1,
    [TYPES.gaudiNodes]: 1,
    [TYPES.pdServing]: 1,
    [TYPES.securityGroup]: 1,
    [TYPES.ingress]: 3,
    [TYPES.egress]: 2,
    [TYPES.placementGroup]: 1,
    [TYPES.keyPair]: 1,
    [TYPES.launchTemplate]: 1,
    [TYPES.instance]: 5, // 4 Gaudi nodes + router
    [TYPES.eip]: 4, // one per Gaudi node
    [TYPES.command]: 15, // (ready, hf-token, serve) × 4 + router-ready + router-serve + gaudi-pd-verify
  });
  assert.deepEqual(
    byType(r, TYPES.instance)
      .map((i) => i.name)
      .sort(),
    ["gaudi-pd-decode-0", "gaudi-pd-decode-1", "gaudi-pd-prefill-0", "gaudi-pd-prefill-1", "gaudi-pd-router"],
  );
  assert.deepEqual(
    byType(r, TYPES.command)
      .map((c) => c.name)
      .sort(),
    ["decode-0", "decode-1", "prefill-0", "prefill-1"]
      .flatMap((n) => [`gaudi-pd-${n}-hf-token`, `gaudi-pd-${n}-ready`, `gaudi-pd-${n}-serve`])
      .concat("gaudi-pd-router-ready", "gaudi-pd-router-serve", "gaudi-pd-verify")
      .sort(),
  );
});

function ingressFromOutside(r: Run) {
  return byType(r, TYPES.ingress)
    .filter((x) => x.inputs.referencedSecurityGroupId === undefined)
    .map((x) => ({ cidr: x.inputs.cidrIpv4, protocol: x.inputs.ipProtocol, from: x.inputs.fromPort, to: x.inputs.toPort }))
    .sort((a, b) => Number(a.from) - Number(b.from) || String(a.cidr).localeCompare(String(b.cidr)));
}

test("security group: all traffic within itself, SSH and the router port only from the configured CIDRs", async () => {
  const r = await run("multi-node", editInfra({ sshCidrs: ["203.0.113.0/24", "198.51.100.7/32"], routerCidrs: ["192.0.2.0/24"] }));
  const sg = byType(r, TYPES.securityGroup);
  assert.deepEqual(
    sg.map((s) => s.name),
    ["gaudi-pd-sg"],
  );
  const sgId = "gaudi-pd-sg-id";
  const self = byType(r, TYPES.ingress).filter((x) => x.inputs.referencedSecurityGroupId !== undefined);
  assert.deepEqual(
    self.map((x) => [x.inputs.securityGroupId, x.inputs.referencedSecurityGroupId, x.inputs.ipProtocol]),
    [[sgId, sgId, "-1"]],
  );
  assert.deepEqual(ingressFromOutside(r), [
    { cidr: "198.51.100.7/32", protocol: "tcp", from: 22, to: 22 },
    { cidr: "203.0.113.0/24", protocol: "tcp", from: 22, to: 22 },
    { cidr: "192.0.2.0/24", protocol: "tcp", from: 9192, to: 9192 },
  ]);
  assert.ok(
    byType(r, TYPES.ingress).every(
      (x) => x.inputs.securityGroupId === sgId && x.inputs.cidrIpv6 === undefined && x.inputs.prefixListId === undefined,
    ),
  );
  assert.deepEqual(
    byType(r, TYPES.egress)
      .map((x) => [x.inputs.referencedSecurityGroupId ?? x.inputs.cidrIpv4, x.inputs.ipProtocol])
      .sort(),
    [
      ["0.0.0.0/0", "-1"],
      [sgId, "-1"],
    ],
  );
  // Every instance sits in that group and no other: the router directly, the Gaudi nodes through their interfaces.
  const lt = named(r, "gaudi-pd-efa");
  const ifaces = lt.inputs.networkInterfaces as Record<string, unknown>[];
  assert.ok(ifaces.every((i) => JSON.stringify(i.securityGroups) === JSON.stringify([sgId])));
  assert.deepEqual(named(r, "gaudi-pd-router").inputs.vpcSecurityGroupIds, [sgId]);
});

test("security group: no router opening without routerCidrs, and nothing open to 0.0.0.0/0 unless configured", async () => {
  const closed = await run("multi-node", editInfra({ routerCidrs: [] }));
  assert.deepEqual(ingressFromOutside(closed), [{ cidr: "203.0.113.0/24", protocol: "tcp", from: 22, to: 22 }]);
  const open = await run("multi-node", editInfra({ sshCidrs: ["0.0.0.0/0"], routerCidrs: ["0.0.0.0/0"] }));
  assert.deepEqual(
    ingressFromOutside(open).map((o) => `${o.cidr} ${o.from}`),
    ["0.0.0.0/0 22", "0.0.0.0/0 9192"],
  );
  const router = await run("multi-node", (c) => (c["gaudi-pd:router"] = { port: 9500 }));
  assert.deepEqual(
    ingressFromOutside(router).map((o) => o.from),
    [22, 9500],
  );
});

test("every Gaudi instance: EFA interfaces on their own network cards, cluster placement, IMDSv2, encrypted root, tags", async () => {
  const r = await run("multi-node");
  const lt = named(r, "gaudi-pd-efa");
  assert.deepEqual(
    (lt.inputs.networkInterfaces as Record<string, unknown>[]).map((i) => [
      i.deviceIndex,
      i.networkCardIndex,
      i.interfaceType,
      i.subnetId,
      i.deleteOnTermination,
    ]),
    [
      [0, 0, "efa", "subnet-0aaa", "true"],
      [1, 1, "efa", "subnet-0aaa", "true"],
      [1, 2, "efa", "subnet-0aaa", "true"],
      [1, 3, "efa", "subnet-0aaa", "true"],
    ],
  );
  assert.equal((lt.inputs.metadataOptions as Record<string, unknown>).httpTokens, "required");
  assert.deepEqual(
    byType(r, TYPES.placementGroup).map((p) => [p.name, p.inputs.strategy]),
    [["gaudi-pd-pg", "cluster"]],
  );
  const gaudi = byType(r, TYPES.instance).filter((i) => i.name !== "gaudi-pd-router");
  assert.equal(gaudi.length, 4);
  for (const i of gaudi) {
    assert.equal(i.inputs.instanceType, "dl1.24xlarge");
    assert.equal(i.inputs.ami, AMI_ID);
    assert.deepEqual(i.inputs.launchTemplate, { id: "gaudi-pd-efa-id", version: "1" });
    assert.equal(i.inputs.placementGroup, "gaudi-pd-pg-1234");
    assert.equal(i.inputs.keyName, "gaudi-pd-key-1234");
    assert.equal((i.inputs.metadataOptions as Record<string, unknown>).httpTokens, "required");
    assert.deepEqual(i.inputs.rootBlockDevice, { volumeType: "gp3", encrypted: true, deleteOnTermination: true, volumeSize: 500 });
    // The interfaces come from the launch template; an instance-level subnet or group would clash with them.
    assert.equal(i.inputs.subnetId, undefined);
    assert.equal(i.inputs.vpcSecurityGroupIds, undefined);
    const [role, rank] = i.name.replace(/^gaudi-pd-/, "").split("-");
    assert.deepEqual(i.inputs.tags, { Name: i.name, Role: role, Rank: rank });
    assert.deepEqual(named(r, `${i.name}-eip`).inputs.networkInterface, `eni-${i.name}`);
  }
  const router = named(r, "gaudi-pd-router");
  assert.equal(router.inputs.instanceType, "c6i.large");
  assert.equal(router.inputs.placementGroup, undefined);
  assert.equal((router.inputs.metadataOptions as Record<string, unknown>).httpTokens, "required");
  assert.equal((router.inputs.rootBlockDevice as Record<string, unknown>).encrypted, true);
  assert.equal(router.inputs.subnetId, "subnet-0aaa");
  assert.deepEqual(router.inputs.tags, { Name: "gaudi-pd-router", Role: "router", Rank: "0" });
  assert.equal(named(r, "gaudi-pd-key").inputs.publicKey, TEST_PUBLIC_KEY);
});

test("configurable: instance type, EFA count, root volume, router instance type; AMI by id skips the lookup", async () => {
  const r = await run(
    "multi-node",
    editInfra({
      instanceType: "dl1.24xlarge",
      efaInterfaces: 2,
      rootVolumeGb: 1000,
      routerInstanceType: "m7i.large",
      ami: { id: "ami-0fedcba987654321" },
    }),
  );
  assert.deepEqual(
    (named(r, "gaudi-pd-efa").inputs.networkInterfaces as Record<string, unknown>[]).map((i) => i.networkCardIndex),
    [0, 1],
  );
  assert.equal((named(r, "gaudi-pd-decode-1").inputs.rootBlockDevice as Record<string, unknown>).volumeSize, 1000);
  assert.equal(named(r, "gaudi-pd-router").inputs.instanceType, "m7i.large");
  assert.ok(byType(r, TYPES.instance).every((i) => i.inputs.ami === "ami-0fedcba987654321"));
  assert.ok(!r.invokes.some((i) => i.token === "aws:ec2/getAmi:getAmi"));
});

test("AMI by owner and name: the most recent available image matching the name", async () => {
  const r = await run("multi-node");
  const ami = r.invokes.filter((i) => i.token === "aws:ec2/getAmi:getAmi");
  assert.equal(ami.length, 1);
  assert.deepEqual(ami[0].inputs, {
    owners: ["amazon"],
    mostRecent: true,
    filters: [
      { name: "name", values: ["Deep Learning AMI Habana PyTorch * Ubuntu 22.04*"] },
      { name: "state", values: ["available"] },
    ],
  });
});

test("subnet: the default VPC's first subnet in a zone offering the instance type; or the VPC given; or the subnet given", async () => {
  const dflt = await run("multi-node");
  const find = (r: Run, token: string) => r.invokes.filter((i) => i.token === `aws:ec2/${token}:${token}`).map((i) => i.inputs);
  assert.deepEqual(find(dflt, "getVpc"), [{ default: true }]);
  assert.deepEqual(find(dflt, "getInstanceTypeOfferings"), [
    { locationType: "availability-zone", filters: [{ name: "instance-type", values: ["dl1.24xlarge"] }] },
  ]);
  assert.deepEqual(find(dflt, "getSubnets"), [
    {
      filters: [
        { name: "vpc-id", values: [DEFAULT_VPC] },
        { name: "availability-zone", values: ZONES },
      ],
    },
  ]);
  assert.equal(named(dflt, "gaudi-pd-sg").inputs.vpcId, DEFAULT_VPC);
  assert.equal(named(dflt, "gaudi-pd-router").inputs.subnetId, [...SUBNETS].sort()[0]);

  const vpc = await run("multi-node", editInfra({ vpcId: "vpc-0mine" }));
  assert.deepEqual(find(vpc, "getVpc"), []);
  assert.equal((find(vpc, "getSubnets")[0].filters as { values: string[] }[])[0].values[0], "vpc-0mine");
  assert.equal(named(vpc, "gaudi-pd-sg").inputs.vpcId, "vpc-0mine");

  const subnet = await run("multi-node", editInfra({ subnetId: "subnet-0given" }));
  assert.deepEqual(find(subnet, "getSubnets"), []);
  assert.deepEqual(find(subnet, "getSubnet"), [{ id: "subnet-0given" }]);
  assert.equal(named(subnet, "gaudi-pd-sg").inputs.vpcId, "vpc-of-subnet");
  assert.equal(named(subnet, "gaudi-pd-router").inputs.subnetId, "subnet-0given");
});

test("infra.region gets its own AWS provider; without it the stack's aws:region applies", async () => {
  const regional = await run("multi-node", editInfra({ region: "us-west-2" }));
  assert.deepEqual(
    byType(regional, TYPES.provider).map((p) => [p.name, p.inputs.region]),
    [["gaudi-pd-aws", "us-west-2"]],
  );
  assert.deepEqual(byType(await run("multi-node"), TYPES.provider), []);
});

test("pure layout: EFA slots, openings, subnet choice", () => {
  assert.deepEqual(gaudiInterfaces(0), [{ deviceIndex: 0, networkCardIndex: 0 }]);
  assert.deepEqual(gaudiInterfaces(1), [{ deviceIndex: 0, networkCardIndex: 0, interfaceType: "efa" }]);
  assert.deepEqual(
    gaudiInterfaces(4).map((s) => s.networkCardIndex),
    [0, 1, 2, 3],
  );
  const t = parseTopology({ infra: { kind: "aws", ami: { id: "ami-0abc" }, sshCidrs: ["10.0.0.0/8"], routerCidrs: ["10.1.0.0/16"] } });
  assert.deepEqual(openings(t.infra as AwsInfra, 9192), [
    { key: "ssh-10.0.0.0/8", description: "SSH from 10.0.0.0/8", cidr: "10.0.0.0/8", port: 22 },
    { key: "router-10.1.0.0/16", description: "vllm-router from 10.1.0.0/16", cidr: "10.1.0.0/16", port: 9192 },
  ]);
  assert.equal(chooseSubnet(["subnet-b", "subnet-a"], "vpc-1", "dl1.24xlarge", ["us-east-1a"]), "subnet-a");
  assert.throws(
    () => chooseSubnet([], "vpc-1", "dl1.24xlarge", []),
    /infra: VPC vpc-1 has no subnet in a zone offering dl1\.24xlarge \(none in this region\); set infra\.subnetId or infra\.vpcId/,
  );
});
