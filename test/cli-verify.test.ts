// `gaudi-pd verify`: its help, and the refusals that come before any SSH.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runCli } from "./helpers/runCli";

test("verify --help says what it checks; exit 0", () => {
  const r = runCli(["verify", "--help"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: gaudi-pd verify --stack NAME/);
  assert.match(r.stdout, /NIXL transfer count/);
});

test("verify without --stack, or with a stack that does not exist: one line each, exit 2, nothing run", () => {
  const none = runCli(["verify"]);
  assert.equal(none.code, 2);
  assert.equal(none.stderr.trim(), "gaudi-pd: error: --stack: required (the deployed stack, e.g. --stack multi-node)");
  const missing = runCli(["verify", "--stack", "no-such-stack"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr.trim(), /^gaudi-pd: error: --stack: no Pulumi\.no-such-stack\.yaml in \S+ \(stacks: [^\n]*\)$/);
});

test("the command list names verify", () => {
  assert.match(runCli(["--help"]).stdout, /^ {2}verify {5}Prove a deployed stack's KV path/m);
});
