// efa-cluster-placement: serving instances share one cluster placement group and have EFA interfaces,
// linked by value once known and by the engine's property dependencies during preview.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { efaClusterPlacement } from "../policy/efaClusterPlacement";
import { messages, TestResource, unknown, validateStack } from "./helpers/policyHarness";

const efa = (card: number) => ({ deviceIndex: card === 0 ? 0 : 1, networkCardIndex: card, interfaceType: "efa" });
const pg = (name: string, strategy = "cluster"): TestResource => ({
  type: "aws:ec2/placementGroup:PlacementGroup",
  name,
  props: { strategy, name: `${name}-a1b2` },
});
const lt = (name: string, interfaces: object[]): TestResource => ({
  type: "aws:ec2/launchTemplate:LaunchTemplate",
  name,
  props: { id: `lt-${name}`, networkInterfaces: interfaces },
});
const node = (name: string, role: string, props: object): TestResource => ({
  type: "aws:ec2/instance:Instance",
  name,
  props: { instanceType: "dl1.24xlarge", tags: { Role: role }, ...props },
});
const placed = (name: string, role: string, group = "gaudi-pd-pg", template = "gaudi-pd-efa") =>
  node(name, role, { placementGroup: `${group}-a1b2`, launchTemplate: { id: `lt-${template}`, version: "1" } });
const router: TestResource = { type: "aws:ec2/instance:Instance", name: "router", props: { instanceType: "c6i.large", tags: { Role: "router" } } };
const base = [pg("gaudi-pd-pg"), lt("gaudi-pd-efa", [0, 1, 2, 3].map(efa)), router];

test("two nodes in the cluster group, launched from the EFA template, pass; the router is not a serving node", async () => {
  assert.deepEqual(messages(await validateStack(efaClusterPlacement, [...base, placed("prefill-0", "prefill"), placed("decode-0", "decode")])), []);
});

test("during preview the links come from property dependencies", async () => {
  const previewed = (name: string, role: string): TestResource => ({
    ...node(name, role, { placementGroup: unknown.string, launchTemplate: { id: unknown.string, version: unknown.string } }),
    propertyDependencies: { placementGroup: ["gaudi-pd-pg"], launchTemplate: ["gaudi-pd-efa"] },
  });
  const stack = [
    pg("gaudi-pd-pg"),
    { ...lt("gaudi-pd-efa", [0, 1].map(efa)), props: { id: unknown.string, networkInterfaces: [0, 1].map(efa) } },
    previewed("prefill-0", "prefill"),
    previewed("decode-0", "decode"),
  ];
  assert.deepEqual(messages(await validateStack(efaClusterPlacement, stack)), []);
});

test("a node outside the group, or in a spread group, is refused with the fix", async () => {
  const out = await validateStack(efaClusterPlacement, [
    ...base,
    pg("spread", "spread"),
    placed("prefill-0", "prefill"),
    node("decode-0", "decode", { launchTemplate: { id: "lt-gaudi-pd-efa" } }),
    placed("decode-1", "decode", "spread"),
  ]);
  const fix = 'set placementGroup to an aws.ec2.PlacementGroup with strategy "cluster" (EFA between nodes needs it)';
  assert.deepEqual(messages(out), [`decode-0: is in no cluster placement group; ${fix}`, `decode-1: is in no cluster placement group; ${fix}`]);
  assert.match(out.violations[0].urn ?? "", /::decode-0$/);
});

test("nodes without EFA interfaces are refused; inline secondary EFA interfaces and EFA ENIs count", async () => {
  const plain = [pg("gaudi-pd-pg"), lt("gaudi-pd-efa", [{ deviceIndex: 0 }])];
  assert.deepEqual(messages(await validateStack(efaClusterPlacement, [...plain, placed("prefill-0", "prefill"), placed("decode-0", "decode")])), [
    'prefill-0: has 0 EFA interface(s), needs at least 1; launch it from a template whose networkInterfaces have interfaceType "efa"',
    'decode-0: has 0 EFA interface(s), needs at least 1; launch it from a template whose networkInterfaces have interfaceType "efa"',
  ]);
  const eni: TestResource = { type: "aws:ec2/networkInterface:NetworkInterface", name: "decode-0-efa", props: { id: "eni-1", interfaceType: "efa" } };
  const stack = [
    ...plain,
    eni,
    node("prefill-0", "prefill", { placementGroup: "gaudi-pd-pg-a1b2", secondaryNetworkInterfaces: [{ networkCardIndex: 1, interfaceType: "efa" }] }),
    node("decode-0", "decode", { placementGroup: "gaudi-pd-pg-a1b2", networkInterfaces: [{ deviceIndex: 0, networkInterfaceId: "eni-1" }] }),
  ];
  assert.deepEqual(messages(await validateStack(efaClusterPlacement, stack)), []);
  assert.equal(messages(await validateStack(efaClusterPlacement, stack, { minEfaInterfaces: 4 })).length, 2);
});

test("serving nodes split over two cluster groups are refused; a single serving node is not applicable", async () => {
  const stack = [...base, pg("other"), placed("prefill-0", "prefill"), placed("decode-0", "decode", "other")];
  assert.deepEqual(messages(await validateStack(efaClusterPlacement, stack)), [
    "serving instances are split over placement groups gaudi-pd-pg, other; put them all in one cluster placement group",
  ]);
  assert.equal((await validateStack(efaClusterPlacement, [...base, placed("pd-0", "pd")])).notApplicable, "fewer than two serving instances");
});
