// gaudi-instance-types and gaudi-generation (both mandatory by default): serving instances told apart by their Role tag.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { gaudiGeneration, gaudiInstanceTypes } from "../policy/gaudiInstances";
import { messages, validateResource } from "./helpers/policyHarness";

const INSTANCE = "aws:ec2/instance:Instance";
const node = (name: string, role: string, instanceType: string) => ({
  type: INSTANCE,
  name,
  props: { instanceType, tags: { Name: `gaudi-pd-${name}`, Role: role, Rank: "0" } },
});

test("serving nodes on dl1.24xlarge pass; the router and untagged machines may be anything", async () => {
  for (const r of [node("prefill-0", "prefill", "dl1.24xlarge"), node("pd-0", "pd", "dl1.24xlarge"), node("router", "router", "c6i.large")])
    assert.deepEqual(messages(await validateResource(gaudiInstanceTypes, r)), [], r.name);
  assert.deepEqual(
    messages(await validateResource(gaudiInstanceTypes, { type: INSTANCE, name: "bastion", props: { instanceType: "t3.micro" } })),
    [],
  );
});

test("a serving node on a GPU type is refused with the allowed list and the fix", async () => {
  assert.deepEqual(messages(await validateResource(gaudiInstanceTypes, node("decode-1", "decode", "p4d.24xlarge"))), [
    "decode-1: instanceType p4d.24xlarge has no Gaudi accelerators (allowed: dl1.24xlarge); set infra.instanceType to one, or add it to this policy's instanceTypes",
  ]);
});

test("the allowed list, tag key and serving roles are policy config", async () => {
  const custom = { instanceTypes: ["dl1.24xlarge", "gaudi3.example"] };
  assert.deepEqual(messages(await validateResource(gaudiInstanceTypes, node("decode-1", "decode", "gaudi3.example"), custom)), []);
  const tagged = { type: INSTANCE, name: "w", props: { instanceType: "m7i.large", tags: { "gaudi-pd/role": "worker" } } };
  assert.equal(messages(await validateResource(gaudiInstanceTypes, tagged, { roleTag: "gaudi-pd/role", servingRoles: ["worker"] })).length, 1);
});

test("gaudi-generation: mandatory by default on dl1 serving nodes only; a user can lower it to advisory", async () => {
  const out = await validateResource(gaudiGeneration, node("prefill-0", "prefill", "dl1.24xlarge"));
  assert.deepEqual(messages(out), [
    "prefill-0: dl1.24xlarge carries first-generation Gaudi, which vllm-gaudi does not support (Gaudi 2 and 3 only), so vLLM will not start on it; " +
      "AWS offers no Gaudi 2/3 machines: serve on Gaudi 2/3 machines (IBM Cloud, Intel Tiber, on premises) with infra.kind: hosts",
  ]);
  assert.equal(gaudiGeneration.enforcementLevel, "mandatory");
  assert.equal(out.violations[0].level, "mandatory");
  const lowered = await validateResource(gaudiGeneration, node("prefill-0", "prefill", "dl1.24xlarge"), { enforcementLevel: "advisory" });
  assert.equal(lowered.violations[0].level, "advisory");
  assert.deepEqual(messages(await validateResource(gaudiGeneration, node("router", "router", "dl1.24xlarge"))), []);
  assert.deepEqual(messages(await validateResource(gaudiGeneration, node("prefill-0", "prefill", "gaudi3.example"))), []);
  assert.equal(
    (await validateResource(gaudiGeneration, { type: "aws:ec2/launchTemplate:LaunchTemplate", name: "lt", props: {} })).notApplicable,
    "not an EC2 instance",
  );
});
