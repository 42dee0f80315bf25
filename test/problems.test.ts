// Problems as data: one line per problem at the edges, refused values echoed only when short and never when secret.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { ConfigError, formatProblem, problem, shownValue } from "../components/problems";

test("a problem prints as path: message, with the edge's prefix", () => {
  assert.equal(formatProblem(problem("decode.dpSize", "must be 1")), "decode.dpSize: must be 1");
  assert.equal(formatProblem(problem("decode.dpSize", "must be 1"), "gaudi-pd:"), "gaudi-pd:decode.dpSize: must be 1");
  assert.equal(new ConfigError([problem("a", "x"), problem("b", "y")]).message, "a: x\nb: y");
});

test("short values are quoted, long ones summarized", () => {
  assert.equal(shownValue("two"), '"two"');
  assert.equal(shownValue("x".repeat(204800)), "a 204800-character string");
  assert.equal(shownValue(undefined), "nothing");
  assert.equal(shownValue(Number.NaN), "NaN (.nan)");
  assert.equal(shownValue(Array.from({ length: 50 }, (_, i) => i)), "a list of 50 items");
});

test("key material is described, never echoed", () => {
  const secrets = [
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0b3RhbGx5IGEga2V5 me@host",
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY=",
    "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345",
    "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9w",
  ];
  for (const s of secrets) {
    const shown = shownValue(s);
    assert.match(shown, /^a value that looks like .* \(not shown\)$/);
    assert.ok(!shown.includes(s.slice(0, 12)) || s.startsWith("ssh-") || s.startsWith("ecdsa"), shown);
  }
  assert.match(shownValue({ publicKey: secrets[1] }), /^a mapping with 1 keys$/);
  // Paths and repository ids are not key material.
  assert.equal(shownValue("/var/lib/gaudi-pd/some-rather-long-directory-name"), '"/var/lib/gaudi-pd/some-rather-long-directory-name"');
});
