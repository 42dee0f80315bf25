// The program run twice under mocks, the second time with one decode setting changed: only decode serve
// commands differ, so `pulumi up` restarts decode nodes and leaves prefill, readiness and tokens alone.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { byType, reveal, Run, runProgram, stackConfig, TYPES } from "./helpers/pulumiMocks";

/** Each command's stdin and triggers, by name (secrets revealed: equal tokens must compare equal). */
const commands = (r: Run) =>
  Object.fromEntries(
    byType(r, TYPES.command).map((c) => [
      c.name,
      JSON.stringify(reveal({ stdin: c.inputs.stdin, triggers: c.inputs.triggers, create: c.inputs.create })),
    ]),
  );
const changed = (a: Run, b: Run) => {
  const [x, y] = [commands(a), commands(b)];
  assert.deepEqual(Object.keys(x).sort(), Object.keys(y).sort(), "the same commands");
  return Object.keys(x)
    .filter((k) => x[k] !== y[k])
    .sort();
};
const decode = (c: Record<string, unknown>) => c["gaudi-pd:decode"] as Record<string, unknown>;
const prefill = (c: Record<string, unknown>) => c["gaudi-pd:prefill"] as Record<string, unknown>;
const runStack = (stack: string, edit?: (c: Record<string, unknown>) => void) => {
  const { config, secretKeys } = stackConfig(stack, edit);
  return runProgram(config, secretKeys);
};

test("decode.maxNumSeqs changed: only the decode serve commands change, and the verify step re-runs (the router's stays put)", async () => {
  const before = await runStack("multi-node");
  const after = await runStack("multi-node", (c) => (decode(c).maxNumSeqs = 128));
  assert.deepEqual(changed(before, after), ["gaudi-pd-decode-0-serve", "gaudi-pd-decode-1-serve", "gaudi-pd-verify"]);
  const resources = (r: Run) => JSON.stringify(r.resources.filter((x) => x.type !== TYPES.command).map((x) => [x.type, x.name, reveal(x.inputs)]));
  assert.equal(resources(after), resources(before), "no machine, group or rule changes");
});

test("a prefill setting changes only prefill serve commands (and re-runs verify); a shared one changes every serve but no readiness or token", async () => {
  const before = await runStack("multi-node");
  assert.deepEqual(changed(before, await runStack("multi-node", (c) => (prefill(c).maxModelLen = 4096))), [
    "gaudi-pd-prefill-0-serve",
    "gaudi-pd-prefill-1-serve",
    "gaudi-pd-verify",
  ]);
  assert.deepEqual(changed(before, await runStack("multi-node", (c) => (c["gaudi-pd:logDir"] = "/data/logs"))), [
    "gaudi-pd-decode-0-serve",
    "gaudi-pd-decode-1-serve",
    "gaudi-pd-prefill-0-serve",
    "gaudi-pd-prefill-1-serve",
    "gaudi-pd-router-serve",
    "gaudi-pd-verify",
  ]);
});

test("the same config twice registers exactly the same resources", async () => {
  const a = await runStack("tp2");
  const b = await runStack("tp2");
  const all = (r: Run) => r.resources.map((x) => JSON.stringify([x.type, x.name, reveal(x.inputs)])).sort();
  assert.deepEqual(all(a), all(b));
});
