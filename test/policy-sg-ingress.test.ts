// sg-ingress-ssh-and-router-only: inline ingress, standalone SecurityGroupRule and vpc ingress rules alike.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { securityGroupIngress } from "../policy/securityGroupIngress";
import { messages, unknown, validateResource } from "./helpers/policyHarness";

const SG = "aws:ec2/securityGroup:SecurityGroup";
const RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
const VPC_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const office = "203.0.113.0/24";

const group = (...ingress: object[]) => ({ type: SG, name: "gaudi-pd-sg", props: { ingress } });
const tcp = (from: number, to: number, more: object) => ({ protocol: "tcp", fromPort: from, toPort: to, ...more });

test("self, group-referenced, SSH and router rules from configured CIDRs pass", async () => {
  const sg = group(
    { protocol: "-1", fromPort: 0, toPort: 0, self: true },
    tcp(0, 65535, { securityGroups: [unknown.string] }),
    tcp(22, 22, { cidrBlocks: [office] }),
    tcp(9192, 9192, { cidrBlocks: [office, "198.51.100.7/32"] }),
    { protocol: "icmp", fromPort: -1, toPort: -1, cidrBlocks: ["0.0.0.0/0"] },
  );
  assert.deepEqual(messages(await validateResource(securityGroupIngress, sg)), []);
});

test("inline ingress to the serve range from a CIDR is refused, naming the rule and the fix", async () => {
  const sg = group(tcp(22, 22, { cidrBlocks: [office] }), tcp(8300, 9399, { cidrBlocks: [office] }));
  assert.deepEqual(messages(await validateResource(securityGroupIngress, sg)), [
    `gaudi-pd-sg ingress[1]: admits ${office} on tcp 8300-9399; only SSH (tcp 22) and the router (tcp 9192) may be reached from outside the cluster — drop the rule (cluster traffic rides the group's self rule)`,
  ]);
});

test("all traffic from a CIDR and a port-less protocol count as every port", async () => {
  const sg = group(
    { protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["10.0.0.0/8"] },
    { protocol: "50", fromPort: 0, toPort: 0, ipv6CidrBlocks: ["2001:db8::/32"] },
  );
  const out = messages(await validateResource(securityGroupIngress, sg));
  assert.equal(out.length, 2);
  assert.match(out[0], /^gaudi-pd-sg ingress\[0\]: admits 10\.0\.0\.0\/8 on all traffic;/);
  assert.match(out[1], /^gaudi-pd-sg ingress\[1\]: admits 2001:db8::\/32 on protocol 50 \(every port\);/);
});

test("SSH from the whole internet (IPv4 or IPv6) is refused unless allowPublicSsh", async () => {
  const sg = group(tcp(22, 22, { cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] }));
  assert.deepEqual(messages(await validateResource(securityGroupIngress, sg)), [
    "gaudi-pd-sg ingress[0]: opens SSH (tcp 22) to 0.0.0.0/0; limit it to infra.sshCidrs, or set allowPublicSsh: true in this policy's config",
    "gaudi-pd-sg ingress[0]: opens SSH (tcp 22) to ::/0; limit it to infra.sshCidrs, or set allowPublicSsh: true in this policy's config",
  ]);
  assert.deepEqual(messages(await validateResource(securityGroupIngress, sg, { allowPublicSsh: true })), []);
});

test("a standalone SecurityGroupRule opening the router to the internet is refused; egress rules are not ingress", async () => {
  const rule = {
    type: RULE,
    name: "router-in",
    props: { type: "ingress", protocol: "tcp", fromPort: 9192, toPort: 9192, cidrBlocks: ["0.0.0.0/0"] },
  };
  assert.deepEqual(messages(await validateResource(securityGroupIngress, rule)), [
    "router-in: opens the router (tcp 9192) to 0.0.0.0/0; limit it to infra.routerCidrs, or set allowPublicRouter: true in this policy's config",
  ]);
  assert.deepEqual(messages(await validateResource(securityGroupIngress, rule, { allowPublicRouter: true })), []);
  const egress = { ...rule, props: { ...rule.props, type: "egress", fromPort: 0, toPort: 65535 } };
  assert.deepEqual(messages(await validateResource(securityGroupIngress, egress)), []);
  const self = { type: RULE, name: "self-in", props: { type: "ingress", protocol: "-1", fromPort: 0, toPort: 0, self: true } };
  assert.deepEqual(messages(await validateResource(securityGroupIngress, self)), []);
});

test("vpc SecurityGroupIngressRule: a DP-master port from a CIDR is refused; a referenced group passes", async () => {
  const bad = {
    type: VPC_RULE,
    name: "dp-in",
    props: { ipProtocol: "tcp", fromPort: 6300, toPort: 6300, cidrIpv4: office, securityGroupId: unknown.string },
  };
  assert.deepEqual(messages(await validateResource(securityGroupIngress, bad)), [
    `dp-in: admits ${office} on tcp 6300; only SSH (tcp 22) and the router (tcp 9192) may be reached from outside the cluster — drop the rule (cluster traffic rides the group's self rule)`,
  ]);
  const peer = {
    type: VPC_RULE,
    name: "peer-in",
    props: { ipProtocol: "-1", referencedSecurityGroupId: unknown.string, securityGroupId: unknown.string },
  };
  assert.deepEqual(messages(await validateResource(securityGroupIngress, peer)), []);
});

test("configured ports move what is allowed: a router on 8080 passes only when routerPort says so", async () => {
  const sg = group(tcp(2222, 2222, { cidrBlocks: [office] }), tcp(8080, 8080, { cidrBlocks: [office] }));
  assert.equal(messages(await validateResource(securityGroupIngress, sg)).length, 2);
  assert.deepEqual(messages(await validateResource(securityGroupIngress, sg, { sshPort: 2222, routerPort: 8080 })), []);
});

test("values unknown during preview are skipped, not guessed; other resource types are not applicable", async () => {
  const sg = group(tcp(8300, 8300, { cidrBlocks: [unknown.string] }), {
    protocol: "tcp",
    fromPort: unknown.number,
    toPort: 9000,
    cidrBlocks: [office],
  });
  const out = await validateResource(securityGroupIngress, sg);
  assert.deepEqual(messages(out), []);
  assert.equal(out.unknownValue, undefined);
  const other = await validateResource(securityGroupIngress, { type: "aws:ec2/instance:Instance", name: "x", props: {} });
  assert.equal(other.notApplicable, "not a security group or ingress rule");
});
