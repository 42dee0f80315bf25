// scripts/test-tier.sh, which every npm test tier runs under: its own TMPDIR, removed after; a test's leftover fails the tier.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const SCRIPT = path.join(__dirname, "..", "scripts", "test-tier.sh");

/** Run `script` (bash) as a tier; returns its status, stderr and the TMPDIR it was given. */
function tier(script: string) {
  const r = spawnSync("bash", [SCRIPT, "bash", "-c", `echo "$TMPDIR"; ${script}`], { encoding: "utf8" });
  return { status: r.status, stderr: r.stderr, tierTmp: r.stdout.trim().split("\n")[0] };
}

test("a tier runs in a TMPDIR of its own under the caller's, removed afterwards with the tools' caches in it", () => {
  const r = tier('mkdir "$TMPDIR/tsx-0" "$TMPDIR/ts-node-0123abc" && touch "$TMPDIR/tsx-0/cached.js"');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(path.dirname(r.tierTmp), os.tmpdir());
  assert.match(path.basename(r.tierTmp), /^gaudi-pd-tier-/);
  assert.equal(fs.existsSync(r.tierTmp), false, `${r.tierTmp} removed`);
});

test("a passing tier that leaves anything else in its TMPDIR fails, naming it, and keeps the directory", () => {
  const r = tier('mkdir "$TMPDIR/gaudi-pd-sim-x-AbC123"; touch "$TMPDIR/stray file"');
  try {
    assert.equal(r.status, 1);
    assert.match(r.stderr, /left these in their TMPDIR/);
    assert.match(r.stderr, /^ {2}gaudi-pd-sim-x-AbC123$/m);
    assert.match(r.stderr, /^ {2}stray file$/m);
    assert.match(r.stderr, new RegExp(`kept ${r.tierTmp.replace(/[.]/g, "\\.")}`));
    assert.ok(fs.existsSync(path.join(r.tierTmp, "gaudi-pd-sim-x-AbC123")));
  } finally {
    fs.rmSync(r.tierTmp, { recursive: true, force: true });
  }
});

test("a failing tier keeps its status and its TMPDIR, for the logs a failing test keeps there", () => {
  const r = tier('mkdir "$TMPDIR/gaudi-pd-logs-1"; exit 3');
  try {
    assert.equal(r.status, 3);
    assert.ok(fs.existsSync(path.join(r.tierTmp, "gaudi-pd-logs-1")));
  } finally {
    fs.rmSync(r.tierTmp, { recursive: true, force: true });
  }
});
