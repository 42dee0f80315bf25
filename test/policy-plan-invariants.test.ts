// pd-plan-invariants: the topology a PdServing registers, planned by plan.ts and checked against the stack.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { planInvariants } from "../policy/planInvariants";
import { DEDICATED_ROUTER_NODE, routerServeName, serveName } from "../components/names";
import { parseTopology, Topology } from "../components/topology";
import { messages, TestResource, validateStack } from "./helpers/policyHarness";

const SERVING = "gaudi-pd:index:PdServing";
const role = { nodes: 2, instancesPerNode: 8, dpSize: 16 };
const aws = { kind: "aws", ami: { owner: "amazon", name: "Deep Learning AMI Habana*" }, sshCidrs: ["203.0.113.0/24"] };
const multiNode = parseTopology({ prefill: role, decode: role, infra: aws });

/** A PdServing named `name` that registered `topology`, with a serve command per host name given. */
function deployment(topology: Topology | undefined, hosts: string[], name = "gaudi-pd"): TestResource[] {
  const owner: TestResource = { type: SERVING, name, props: topology === undefined ? { routerUrl: "http://x:9192" } : { topology } };
  const commandName = (h: string) => (h === DEDICATED_ROUTER_NODE ? routerServeName(name) : serveName(name, h));
  const commands = hosts.map((h) => ({ type: "command:remote:Command", name: commandName(h), parent: name, props: { create: "bash x" } }));
  return [owner, ...commands];
}
const allHosts = ["prefill-0", "prefill-1", "decode-0", "decode-1", "router"];

test("the seed's multi-node topology with a serve command per host passes", async () => {
  assert.deepEqual(messages(await validateStack(planInvariants, deployment(multiNode, allHosts))), []);
});

test("a planned host without its serve command is named", async () => {
  assert.deepEqual(
    messages(
      await validateStack(
        planInvariants,
        deployment(
          multiNode,
          allHosts.filter((h) => h !== "decode-1"),
        ),
      ),
    ),
    ["gaudi-pd: gaudi-pd-decode-1-serve: the plan has this host but no command:remote:Command named gaudi-pd-decode-1-serve serves it"],
  );
});

test("two clusters in one stack: each is checked against its own commands, by its own name", async () => {
  const both = [
    ...deployment(multiNode, allHosts, "east"),
    ...deployment(
      multiNode,
      allHosts.filter((h) => h !== "router"),
      "west",
    ),
  ];
  assert.deepEqual(messages(await validateStack(planInvariants, both)), [
    "west: west-router-serve: the plan has this host but no command:remote:Command named west-router-serve serves it",
  ]);
});

test("what the planner refuses is reported line by line (TP 2 side channels colliding, HPUs over capacity)", async () => {
  const t = parseTopology({
    prefill: { instancesPerNode: 2, tpSize: 2, nixl: { sideChannelLayout: "perTpWorker" } },
    decode: { instancesPerNode: 8, tpSize: 2, dpSize: 8 },
    infra: aws,
  });
  const out = messages(await validateStack(planInvariants, deployment(t, ["prefill-0", "decode-0", "router"])));
  assert.ok(
    out.includes("gaudi-pd: decode.instancesPerNode: 8 instances × tpSize 2 need 16 HPUs, more than the 8 HPUs of a node (infra.hpusPerNode)"),
    out.join("\n"),
  );
  assert.ok(
    out.some((m) =>
      /^gaudi-pd: prefill\.nixl\.sideChannelLayout: prefill-0 port 4301 is used by both prefill-0 prefill instance 0 \(NIXL side channel tp 1\) and prefill-0 prefill instance 1/.test(
        m,
      ),
    ),
    out.join("\n"),
  );
});

test("listed hosts sharing a machine share its ports: a router on a node's address and port collides", async () => {
  const t = parseTopology({
    router: { port: 8300 },
    infra: { kind: "hosts", prefill: [{ address: "192.0.2.10" }], decode: [{ address: "192.0.2.11" }], router: { address: "192.0.2.10" } },
  });
  assert.deepEqual(messages(await validateStack(planInvariants, deployment(t, ["prefill-0", "decode-0", "router"]))), [
    "gaudi-pd: ports: 192.0.2.10 port 8300 is used by both prefill-0 prefill instance 0 (serve) and router",
  ]);
});

test("a registered topology that no parse would give (dpSize beyond the instances) breaks the DP ranks", async () => {
  const t = { ...multiNode, prefill: { ...multiNode.prefill, nodes: 1 } };
  assert.deepEqual(messages(await validateStack(planInvariants, deployment(t, ["prefill-0", "decode-0", "decode-1", "router"]))), [
    "gaudi-pd: prefill.dpSize: DP ranks are [0, 1, 2, 3, 4, 5, 6, 7], expected 0..15 once each",
  ]);
});

test("a PdServing that registers no topology is a violation naming the contract; no component, not applicable", async () => {
  const out = await validateStack(planInvariants, deployment(undefined, allHosts));
  assert.deepEqual(messages(out), [
    "gaudi-pd: gaudi-pd:index:PdServing registers no topology output; register the parsed topology (registerOutputs({ topology: plan.topology, … })) so the plan can be checked",
  ]);
  assert.equal(
    (await validateStack(planInvariants, [{ type: "aws:ec2/instance:Instance", name: "x", props: {} }])).notApplicable,
    "no PdServing or PdCluster in the stack",
  );
});
