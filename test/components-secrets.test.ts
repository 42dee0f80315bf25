// Secrets under mocks: the SSH private key and the HF token reach the engine only inside secret values —
// never in a command's text, a script, another resource's inputs, or an output.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { PdCluster } from "../components/pdCluster";
import { rawTopologyFromConfig } from "../components/stackConfig";
import {
  byType,
  isSecretValue,
  plainStrings,
  reveal,
  runMocked,
  runProgram,
  stackConfig,
  TEST_HF_TOKEN,
  TEST_PRIVATE_KEY,
  TYPES,
} from "./helpers/pulumiMocks";

/** Telling fragments: a secret leaks if any of them shows up in plain text. */
const FRAGMENTS = [TEST_HF_TOKEN, TEST_HF_TOKEN.slice(3, 20), TEST_PRIVATE_KEY.split("\n")[1], "BEGIN OPENSSH PRIVATE KEY"];
const leaks = (strings: string[]) => strings.filter((s) => FRAGMENTS.some((f) => s.includes(f)));

for (const stack of ["single-node", "multi-node", "hosts"]) {
  test(`${stack}: no resource input and no stack output holds a secret in plain text`, async () => {
    const { config, secretKeys } = stackConfig(stack, (c) => {
      if (stack === "hosts") (c["gaudi-pd:infra"] as Record<string, unknown>).bastion = { address: "203.0.113.5" };
    });
    const r = await runProgram(config, secretKeys);
    for (const res of r.resources) assert.deepEqual(leaks(plainStrings(res.inputs)), [], `${res.type} ${res.name}`);
    assert.deepEqual(leaks(plainStrings(r.outputs)), [], "stack outputs");
    assert.deepEqual(leaks([JSON.stringify(r.outputs)]), [], "stack outputs");

    for (const c of byType(r, TYPES.command)) {
      assert.ok(isSecretValue(c.inputs.connection), `${c.name}: connection is a secret`);
      const conn = reveal(c.inputs.connection) as { privateKey: string; proxy?: { privateKey: string } };
      assert.equal(conn.privateKey, TEST_PRIVATE_KEY);
      if (conn.proxy) assert.equal(conn.proxy.privateKey, TEST_PRIVATE_KEY);
    }
    const tokens = byType(r, TYPES.command).filter((c) => c.name.endsWith("-hf-token"));
    const serves = byType(r, TYPES.command).filter((c) => c.name.endsWith("-serve") && c.name !== "gaudi-pd-router-serve");
    assert.deepEqual(tokens.map((t) => t.name.replace(/-hf-token$/, "")).sort(), serves.map((c) => c.name.replace(/-serve$/, "")).sort());
    for (const t of tokens) {
      assert.ok(isSecretValue(t.inputs.stdin), `${t.name}: stdin is a secret`);
      assert.equal(reveal(t.inputs.stdin), `HF_TOKEN=${TEST_HF_TOKEN}\n`);
    }
    for (const c of serves)
      assert.ok((c.inputs.stdin as string).includes("hf-token.env"), `${c.name}: the script reads the token from its file on the host`);
  });
}

test("component outputs: hosts carry the key only in a secret connection; nodes, endpoints and routerUrl are plain and key-free", async () => {
  const { config } = stackConfig("multi-node");
  const checks: Promise<void>[] = [];
  await runMocked(() => {
    const cluster = new PdCluster("gaudi-pd", {
      topology: rawTopologyFromConfig(config),
      hfToken: pulumi.secret(TEST_HF_TOKEN),
      sshPrivateKey: pulumi.secret(TEST_PRIVATE_KEY),
    });
    const isSecret = (o: pulumi.Output<unknown>) => (o as unknown as { isSecret: Promise<boolean> }).isSecret;
    const plain = (what: string, o: pulumi.Output<unknown>) =>
      checks.push(
        (async () => {
          assert.equal(await isSecret(o), false, `${what} is not secret`);
          const value = await new Promise((resolve) => o.apply(resolve));
          assert.deepEqual(leaks([JSON.stringify(value)]), [], what);
        })(),
      );
    plain("nodes", cluster.nodes);
    plain("endpoints", cluster.endpoints);
    plain("routerUrl", cluster.routerUrl);
    return {};
  });
  await Promise.all(checks);
});

test("a Pulumi secret in the topology (an env value) makes every script it reaches a secret, stdin included", async () => {
  const SECRET_ENV = "s3cr3t-env-value-for-gaudi-pd";
  const { config, secretKeys } = stackConfig("hosts", (c) => (c["gaudi-pd:env"] = { EXTRA_SECRET: SECRET_ENV }));
  const r = await runProgram(config, [...secretKeys, "gaudi-pd:env"]);
  const serves = byType(r, TYPES.command).filter((c) => c.name.endsWith("-serve"));
  assert.ok(serves.length >= 5, "every node and the router");
  for (const c of serves) {
    assert.ok(isSecretValue(c.inputs.stdin), `${c.name}: stdin is a secret`);
    assert.ok((reveal(c.inputs.stdin) as string).length > 0);
  }
  for (const res of r.resources)
    assert.ok(!plainStrings(res.inputs).some((s) => s.includes(SECRET_ENV)), `${res.type} ${res.name}: the value is never plain`);
  const plain = await runProgram(config, secretKeys);
  assert.ok(
    byType(plain, TYPES.command)
      .filter((c) => c.name.endsWith("-serve"))
      .every((c) => !isSecretValue(c.inputs.stdin)),
    "without a secret key, scripts stay readable in diffs",
  );
});
