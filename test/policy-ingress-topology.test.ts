// sg-ingress-from-configured-cidrs: SSH and router ingress only from the CIDRs the registered topology names.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { ingressFromTopology } from "../policy/ingressFromTopology";
import { parseTopology } from "../components/topology";
import { messages, TestResource, unknown, validateStack } from "./helpers/policyHarness";

const RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const office = "203.0.113.0/24";
const users = "198.51.100.0/24";
const ami = { id: "ami-0123abcd" };
const serving = (name: string, infra: object, extra: object = {}, parent?: string): TestResource => ({
  type: "gaudi-pd:index:PdServing",
  name,
  ...(parent ? { parent } : {}),
  props: { topology: parseTopology({ infra: { kind: "aws", ami, ...infra }, ...extra }) },
});
const opening = (name: string, cidr: string, port: number, parent?: string): TestResource => ({
  type: RULE,
  name,
  ...(parent ? { parent } : {}),
  props: { securityGroupId: unknown.string, cidrIpv4: cidr, ipProtocol: "tcp", fromPort: port, toPort: port },
});

test("GaudiNodes-style openings from the configured CIDRs pass", async () => {
  const stack = [serving("gaudi-pd", { sshCidrs: [office], routerCidrs: [users] }), opening("ssh", office, 22), opening("router", users, 9192)];
  assert.deepEqual(messages(await validateStack(ingressFromTopology, stack)), []);
});

test("SSH from an unlisted CIDR and the router with no routerCidrs are refused, naming the config key", async () => {
  const stack = [serving("gaudi-pd", { sshCidrs: [office] }, { router: { port: 8080 } }), opening("ssh", users, 22), opening("router", office, 8080)];
  const out = await validateStack(ingressFromTopology, stack);
  assert.deepEqual(messages(out), [
    `ssh: admits SSH (tcp 22) from ${users}, which infra.sshCidrs (${office}) does not name; add it there or drop the rule`,
    `router: admits the router (tcp 8080) from ${office}, which infra.routerCidrs (none) does not name; add it there or drop the rule`,
  ]);
  assert.match(out.violations[0].urn ?? "", /::ssh$/);
});

test("inline ingress is checked the same way", async () => {
  const sg: TestResource = {
    type: "aws:ec2/securityGroup:SecurityGroup",
    name: "sg",
    props: { ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: [office, "192.0.2.0/24"] }] },
  };
  assert.deepEqual(messages(await validateStack(ingressFromTopology, [serving("gaudi-pd", { sshCidrs: [office] }), sg])), [
    `sg ingress[0]: admits SSH (tcp 22) from 192.0.2.0/24, which infra.sshCidrs (${office}) does not name; add it there or drop the rule`,
  ]);
});

test("two deployments in one stack: each rule is held to the topology of its own PdCluster", async () => {
  const cluster = (name: string): TestResource => ({ type: "gaudi-pd:index:PdCluster", name, props: {} });
  const stack = [
    cluster("a"),
    cluster("b"),
    serving("a-serving", { sshCidrs: [office] }, {}, "a"),
    serving("b-serving", { sshCidrs: [users] }, {}, "b"),
    opening("a-ssh", office, 22, "a"),
    opening("b-ssh", office, 22, "b"),
  ];
  assert.deepEqual(messages(await validateStack(ingressFromTopology, stack)), [
    `b-ssh: admits SSH (tcp 22) from ${office}, which infra.sshCidrs (${users}) does not name; add it there or drop the rule`,
  ]);
});

test("not applicable without an AWS topology", async () => {
  assert.equal(
    (await validateStack(ingressFromTopology, [opening("ssh", office, 22)])).notApplicable,
    "no deployment on AWS with a registered topology",
  );
});
