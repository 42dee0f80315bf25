// no-plaintext-secrets-in-commands: refused in command texts and environments; made secret on stdin and in
// the SSH connection by the remediation (the one place a policy can see whether a value is a Pulumi secret).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { commandSecrets } from "../policy/commandSecrets";
import { hfTokenCommands, READY_COMMAND, scriptCommands } from "../components/render/hostCommands";
import { renderNodeScript } from "../components/render/nodeScript";
import { planCluster } from "../components/plan";
import { parseTopology } from "../components/topology";
import { isWireSecret, messages, remediateResource, secret, unknown, validateResource } from "./helpers/policyHarness";

const REMOTE = "command:remote:Command";
const LOCAL = "command:local:Command";
const TOKEN = "hf_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7";
const KEY = ["-----BEGIN OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXktdjEAAAAA", "-----END OPENSSH PRIVATE KEY-----"].join("\n");
const connection = { host: "203.0.113.10", user: "ubuntu", port: 22, privateKey: KEY };
const command = (name: string, props: object) => ({ type: REMOTE, name, props: { connection: secret(connection), ...props } });

test("gaudi-pd's own command texts and a rendered node script pass; the token travels on stdin as a secret", async () => {
  const plan = planCluster(
    parseTopology({
      colocate: true,
      prefill: { instancesPerNode: 4, dpSize: 4 },
      decode: { instancesPerNode: 4, dpSize: 4 },
      router: { placement: "pd-0" },
    }),
  );
  const serve = scriptCommands("/var/lib/gaudi-pd", "pd-0");
  const token = hfTokenCommands("/var/lib/gaudi-pd");
  for (const r of [
    command("pd-0-ready", { create: READY_COMMAND }),
    command("pd-0-serve", { ...serve, stdin: renderNodeScript(plan, "pd-0") }),
    command("pd-0-hf-token", { ...token, stdin: secret(`HF_TOKEN=${TOKEN}\n`) }),
  ]) {
    assert.deepEqual(messages(await validateResource(commandSecrets, r)), [], r.name);
    assert.equal(await remediateResource(commandSecrets, r), undefined, r.name);
  }
});

test("a token, a key or an AWS key in a command text or environment is refused, naming the field but not the value", async () => {
  const r = command("pd-0-serve", {
    create: `HF_TOKEN=${TOKEN} bash /var/lib/gaudi-pd/pd-0.sh start`,
    delete: `echo '${KEY}' > /tmp/k`,
    environment: { AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", HF_TOKEN: "literal-token-value", UCX_TLS: "rc,ud,ib" },
  });
  const out = messages(await validateResource(commandSecrets, r));
  const fix = "deliver it on stdin as a pulumi.secret (as gaudi-pd's <cluster>-<node>-hf-token does), never in a command line or environment";
  assert.deepEqual(out, [
    `pd-0-serve: create carries a Hugging Face token; ${fix}`,
    `pd-0-serve: create carries an HF_TOKEN assignment with a literal value; ${fix}`,
    `pd-0-serve: delete carries a private key; ${fix}`,
    `pd-0-serve: environment.AWS_ACCESS_KEY_ID carries an AWS access key id; ${fix}`,
    `pd-0-serve: environment.HF_TOKEN carries an HF_TOKEN assignment with a literal value; ${fix}`,
  ]);
  assert.ok(
    out.every((m) => !m.includes(TOKEN) && !m.includes("AKIAIOSFODNN7EXAMPLE")),
    "messages must not echo the secret",
  );
});

test("local commands are checked too; reading the token from a variable or file is not a literal", async () => {
  const local = { type: LOCAL, name: "fetch", props: { create: `HF_TOKEN=${TOKEN} huggingface-cli download m` } };
  assert.equal(messages(await validateResource(commandSecrets, local)).length, 2);
  const reads = {
    type: LOCAL,
    name: "fetch",
    props: { create: 'HF_TOKEN="$(cat /run/secrets/hf)" huggingface-cli download m; export HF_TOKEN="$token"' },
  };
  assert.deepEqual(messages(await validateResource(commandSecrets, reads)), []);
});

test("remediation: a plain token on stdin and a plain SSH key (also the bastion's) become Pulumi secrets", async () => {
  const plain = {
    type: REMOTE,
    name: "decode-0-hf-token",
    props: {
      create: "cat > f",
      stdin: `HF_TOKEN=${TOKEN}\n`,
      connection: { ...connection, proxy: { host: "198.51.100.1", user: "jump", privateKey: KEY } },
    },
  };
  const fixed = await remediateResource(commandSecrets, plain);
  assert.ok(fixed, "expected the remediation to change the resource");
  assert.ok(isWireSecret(fixed.stdin), "stdin must be a secret");
  assert.ok(isWireSecret(fixed.connection.privateKey), "connection.privateKey must be a secret");
  assert.ok(isWireSecret(fixed.connection.proxy.privateKey), "connection.proxy.privateKey must be a secret");
  assert.equal(fixed.connection.host, connection.host, "the rest of the connection is left as it was");
  assert.equal(fixed.create, "cat > f");
});

test("remediation leaves secrets, secret-free stdin and unknown values alone", async () => {
  const alreadySecret = {
    type: REMOTE,
    name: "x",
    props: { stdin: secret(`HF_TOKEN=${TOKEN}`), connection: { ...connection, privateKey: secret(KEY) } },
  };
  assert.equal(await remediateResource(commandSecrets, alreadySecret), undefined);
  const script = { type: REMOTE, name: "y", props: { stdin: "#!/bin/bash\necho hi\n", connection: secret({ ...connection, host: unknown.string }) } };
  assert.equal(await remediateResource(commandSecrets, script), undefined);
  const preview = { type: REMOTE, name: "z", props: { create: unknown.string, stdin: unknown.string, connection: secret(connection) } };
  assert.deepEqual(messages(await validateResource(commandSecrets, preview)), []);
  assert.equal(await remediateResource(commandSecrets, preview), undefined);
});
