// imdsv2-required and volumes-encrypted on instances, launch templates and EBS volumes.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { imdsv2Required } from "../policy/imdsv2Required";
import { volumesEncrypted } from "../policy/volumesEncrypted";
import { messages, unknown, validateResource } from "./helpers/policyHarness";

const INSTANCE = "aws:ec2/instance:Instance";
const TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
const VOLUME = "aws:ebs/volume:Volume";
const instance = (props: object) => ({ type: INSTANCE, name: "prefill-0", props: { instanceType: "dl1.24xlarge", ...props } });

test("IMDSv2: httpTokens required passes, on an instance and on a launch template", async () => {
  assert.deepEqual(messages(await validateResource(imdsv2Required, instance({ metadataOptions: { httpTokens: "required" } }))), []);
  assert.deepEqual(
    messages(await validateResource(imdsv2Required, { type: TEMPLATE, name: "lt", props: { metadataOptions: { httpTokens: "required" } } })),
    [],
  );
  assert.deepEqual(messages(await validateResource(imdsv2Required, instance({ metadataOptions: { httpEndpoint: "disabled" } }))), []);
});

test("IMDSv2: optional or missing httpTokens is refused with the fix", async () => {
  assert.deepEqual(messages(await validateResource(imdsv2Required, instance({ metadataOptions: { httpTokens: "optional" } }))), [
    'prefill-0: metadataOptions.httpTokens is "optional"; set metadataOptions: { httpTokens: "required" } (IMDSv2)',
  ]);
  assert.deepEqual(messages(await validateResource(imdsv2Required, { type: TEMPLATE, name: "lt", props: {} })), [
    'lt: metadataOptions.httpTokens is not set; set metadataOptions: { httpTokens: "required" } (IMDSv2)',
  ]);
});

test("IMDSv2: an instance from a launch template defers to the template; unknown values wait for the update", async () => {
  assert.deepEqual(messages(await validateResource(imdsv2Required, instance({ launchTemplate: { id: unknown.string, version: "$Latest" } }))), []);
  assert.deepEqual(messages(await validateResource(imdsv2Required, instance({ metadataOptions: { httpTokens: unknown.string } }))), []);
  assert.equal((await validateResource(imdsv2Required, { type: VOLUME, name: "v", props: {} })).notApplicable, "not an instance or launch template");
});

test("encryption: encrypted root, data and standalone volumes pass; template mappings accept the string form", async () => {
  const ok = instance({ rootBlockDevice: { encrypted: true, volumeSize: 500 }, ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: true }] });
  assert.deepEqual(messages(await validateResource(volumesEncrypted, ok)), []);
  assert.deepEqual(messages(await validateResource(volumesEncrypted, { type: VOLUME, name: "cache", props: { encrypted: true, size: 100 } })), []);
  const lt = {
    type: TEMPLATE,
    name: "lt",
    props: {
      blockDeviceMappings: [
        { deviceName: "/dev/sda1", ebs: { encrypted: "true" } },
        { deviceName: "/dev/sdb", virtualName: "ephemeral0" },
      ],
    },
  };
  assert.deepEqual(messages(await validateResource(volumesEncrypted, lt)), []);
});

test("encryption: each unencrypted volume is named with the fix", async () => {
  const bad = instance({
    rootBlockDevice: { volumeSize: 500 },
    ebsBlockDevices: [
      { deviceName: "/dev/sdf", encrypted: true },
      { deviceName: "/dev/sdg", encrypted: false },
    ],
  });
  assert.deepEqual(messages(await validateResource(volumesEncrypted, bad)), [
    "prefill-0: rootBlockDevice.encrypted is not true; set it to true (encrypt the volume at rest)",
    "prefill-0: ebsBlockDevices[1].encrypted is not true; set it to true (encrypt the volume at rest)",
  ]);
  assert.deepEqual(messages(await validateResource(volumesEncrypted, instance({}))), [
    "prefill-0: rootBlockDevice.encrypted is not true; set it to true (encrypt the volume at rest)",
  ]);
  assert.deepEqual(messages(await validateResource(volumesEncrypted, { type: VOLUME, name: "cache", props: { size: 100 } })), [
    "cache: encrypted is not true; set it to true (encrypt the volume at rest)",
  ]);
  const lt = { type: TEMPLATE, name: "lt", props: { blockDeviceMappings: [{ deviceName: "/dev/sda1", ebs: { encrypted: "false" } }] } };
  assert.deepEqual(messages(await validateResource(volumesEncrypted, lt)), [
    "lt: blockDeviceMappings[0].ebs.encrypted is not true; set it to true (encrypt the volume at rest)",
  ]);
});
