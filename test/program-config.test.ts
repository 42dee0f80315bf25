// Bad stack config stops the program before any resource is registered, with one line per problem named by its
// config key, as a RunError (which the engine prints without a stack trace).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { runProgram, settleProgram, stackConfig, TYPES } from "./helpers/pulumiMocks";

/** The program's failure and the types of what it registered. */
async function failure(config: Record<string, unknown>, secretKeys: string[]): Promise<{ error: Error; registered: string[] }> {
  const { error, resources } = await settleProgram(config, secretKeys);
  assert.ok(error, `expected the program to fail; it registered ${resources.map((r) => r.name).join(", ")}`);
  return { error, registered: resources.map((r) => r.type) };
}

const cases: { why: string; edit: (c: Record<string, unknown>) => void; lines: string[] }[] = [
  {
    why: "a misspelt key and, beside it, a wrong dpSize: both in one run",
    edit: (c) => {
      (c["gaudi-pd:decode"] as Record<string, unknown>).dpSize = 12;
      c["gaudi-pd:maxNumSeq"] = 64;
    },
    lines: [
      'gaudi-pd:maxNumSeq: unknown key (did you mean "maxNumSeqs"?)',
      "gaudi-pd:decode.dpSize: must be 1 or instancesPerNode × nodes (16), got 12",
    ],
  },
  {
    why: "no public key for AWS and no SSH private key",
    edit: (c) => {
      delete (c["gaudi-pd:infra"] as Record<string, unknown>).publicKey;
      delete c["gaudi-pd:sshPrivateKey"];
    },
    lines: [
      'gaudi-pd:infra.publicKey: required to deploy on AWS (pulumi config set --path "gaudi-pd:infra.publicKey" "$(cat ~/.ssh/id_ed25519.pub)")',
      "gaudi-pd:sshPrivateKey: required to reach the hosts (pulumi config set --secret gaudi-pd:sshPrivateKey < ~/.ssh/id_ed25519)",
    ],
  },
  {
    why: "no infra at all",
    edit: (c) => delete c["gaudi-pd:infra"],
    lines: ["gaudi-pd:infra: required to deploy: {kind: aws, …} or {kind: hosts, …}"],
  },
  {
    why: "a dpSize that fits no layout",
    edit: (c) => ((c["gaudi-pd:decode"] as Record<string, unknown>).dpSize = 12),
    lines: ["gaudi-pd:decode.dpSize: must be 1 or instancesPerNode × nodes (16), got 12"],
  },
  {
    why: "the router placed on a node that does not exist",
    edit: (c) => (c["gaudi-pd:router"] = { placement: "prefill-7" }),
    lines: ["gaudi-pd:router.placement: no node named prefill-7 (nodes: prefill-0, prefill-1, decode-0, decode-1)"],
  },
];

for (const { why, edit, lines } of cases) {
  test(`bad config (${why}): fails before any resource, one line per problem`, async () => {
    const { config, secretKeys } = stackConfig("multi-node", edit);
    const { error, registered } = await failure(config, secretKeys);
    assert.ok(error instanceof pulumi.RunError, `a RunError, got ${error.name}: ${error.message}`);
    assert.deepEqual(registered, [TYPES.stack]);
    assert.deepEqual(error.message.split("\n"), lines);
  });
}

test("existing hosts: a host list that does not match the roles is named by its key", async () => {
  const { config, secretKeys } = stackConfig("hosts", (c) => {
    const infra = c["gaudi-pd:infra"] as Record<string, unknown[]>;
    infra.decode = infra.decode.slice(0, 1);
  });
  const { error, registered } = await failure(config, secretKeys);
  assert.deepEqual(registered, [TYPES.stack]);
  assert.deepEqual(error.message.split("\n"), ["gaudi-pd:infra.decode: 1 host(s) listed, 2 expected (decode.nodes is 2)"]);
});

test("the SSH private key is a credential, not topology: setting it is no unknown key", async () => {
  const { config, secretKeys } = stackConfig("hosts");
  assert.ok("gaudi-pd:sshPrivateKey" in config);
  const r = await runProgram(config, secretKeys);
  assert.ok(r.resources.length > 1);
});
