// The whole pack against the real program: each stack file run under the components' mock recorder, its
// resources handed to every policy the way the engine would (inputs and remediation to resource policies,
// outputs to stack policies), and no mandatory violation may come back.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { policies } from "../policy/policies";
import { rawTopologyFromConfig } from "../components/stackConfig";
import { parseTopology } from "../components/topology";
import { Run, runProgram, stackConfig, TYPES } from "./helpers/pulumiMocks";
import { remediateResource, TestResource, validateResource, validateStack, Violation } from "./helpers/policyHarness";

const settings = require("@pulumi/pulumi/runtime/settings") as {
  getMonitor(): { getRegisteredResources(): Map<string, { urn: string; id: string | null; state: any }> };
};

const typeChain = (urn: string) => urn.split("::")[2].split("$");

/** The run as the engine sees it: each resource's inputs, and its outputs (mock state with its id, or a component's registered outputs). */
function engineView(run: Run): { inputs: TestResource[]; outputs: TestResource[] } {
  const registered = [...settings.getMonitor().getRegisteredResources().values()];
  const find = (type: string, name: string) => registered.find((r) => typeChain(r.urn).at(-1) === type && r.urn.endsWith(`::${name}`));
  const views = run.resources.map((r) => {
    const reg = find(r.type, r.name);
    if (!reg) throw new Error(`no registered URN for ${r.type} ${r.name}`);
    const parent = r.parent === undefined ? undefined : find(typeChain(reg.urn).at(-2)!, r.parent)?.urn;
    const outputs = typeof reg.state?.toJavaScript === "function" ? reg.state.toJavaScript() : { ...reg.state, ...(reg.id ? { id: reg.id } : {}) };
    const base = {
      urn: reg.urn,
      type: r.type,
      name: r.name,
      ...(parent ? { parent } : {}),
      opts: { additionalSecretOutputs: r.additionalSecretOutputs },
    };
    return { input: { ...base, props: r.inputs }, output: { ...base, props: outputs } };
  });
  return { inputs: views.map((v) => v.input), outputs: views.map((v) => v.output) };
}

const isStackPolicy = (p: ResourceValidationPolicy | StackValidationPolicy): p is StackValidationPolicy => "validateStack" in p;

/** Every violation the pack reports, and the stack policies that applied. */
async function runPack(inputs: TestResource[], outputs: TestResource[]): Promise<{ violations: Violation[]; applied: string[] }> {
  const violations: Violation[] = [];
  const applied: string[] = [];
  for (const p of policies) {
    if (isStackPolicy(p)) {
      const o = await validateStack(p, outputs);
      violations.push(...o.violations);
      if (o.notApplicable === undefined) applied.push(p.name);
      continue;
    }
    for (const r of inputs) {
      assert.equal(await remediateResource(p, r), undefined, `${p.name} would change ${r.name}: the program should already do what it asks`);
      violations.push(...(await validateResource(p, r)).violations);
    }
  }
  return { violations, applied };
}

/** Every AWS stack serves on dl1.24xlarge, first-generation Gaudi: gaudi-generation refuses each serving node. */
const dl1 = (...nodes: string[]) => nodes.map((n) => `gaudi-generation: gaudi-pd-${n}`);
const STACKS = {
  "single-node": {
    applied: ["sg-ingress-from-configured-cidrs", "nixl-ucx-transports-on-efa", "pd-plan-invariants"],
    mandatory: dl1("pd-0"),
    advisories: ["nixl-ucx-transports-on-efa: gaudi-pd"],
  },
  "multi-node": {
    applied: ["sg-ingress-from-configured-cidrs", "efa-cluster-placement", "nixl-ucx-transports-on-efa", "pd-plan-invariants"],
    mandatory: dl1("prefill-0", "prefill-1", "decode-0", "decode-1"),
    advisories: ["nixl-ucx-transports-on-efa: gaudi-pd"],
  },
  tp2: {
    applied: ["sg-ingress-from-configured-cidrs", "efa-cluster-placement", "nixl-ucx-transports-on-efa", "pd-plan-invariants"],
    mandatory: dl1("prefill-0", "decode-0", "decode-1"),
    advisories: ["nixl-ucx-transports-on-efa: gaudi-pd"],
  },
  hosts: { applied: ["pd-plan-invariants"], mandatory: [], advisories: [] },
};

/** A stack file (edited) run through the program, as the engine would hand it to the pack. */
async function recorded(stack: string, edit?: (c: Record<string, unknown>) => void): Promise<{ inputs: TestResource[]; outputs: TestResource[] }> {
  const { config, secretKeys } = stackConfig(stack, edit);
  const view = engineView(await runProgram(config, secretKeys));
  // The contract the stack policies read: PdServing registers the stack's parsed topology.
  const serving = view.outputs.find((r) => r.type === TYPES.pdServing)!;
  const topology = parseTopology(rawTopologyFromConfig(config));
  assert.deepEqual(serving.props.topology, JSON.parse(JSON.stringify(topology)), "PdServing registers the stack's parsed topology");
  return view;
}

for (const [stack, expected] of Object.entries(STACKS)) {
  test(`${stack}: no mandatory violation in what the program registers but Gaudi 1's; the expected policies apply and advise`, async () => {
    const { inputs, outputs } = await recorded(stack);
    const { violations, applied } = await runPack(inputs, outputs);
    assert.deepEqual(
      violations.filter((v) => v.level === "mandatory").map((v) => `${v.policy}: ${v.message.split(":")[0]}`),
      expected.mandatory,
    );
    assert.deepEqual(applied, expected.applied);
    assert.deepEqual(
      violations.filter((v) => v.level === "advisory").map((v) => `${v.policy}: ${v.message.split(":")[0]}`),
      expected.advisories,
    );
  });
}

test("a router opened to the whole internet through the stack config is caught in what the program registers", async () => {
  const { inputs, outputs } = await recorded("multi-node", (c) => Object.assign(c["gaudi-pd:infra"] as object, { routerCidrs: ["0.0.0.0/0"] }));
  const { violations } = await runPack(inputs, outputs);
  assert.deepEqual(
    violations.filter((v) => v.level === "mandatory" && v.policy !== "gaudi-generation").map((v) => `${v.policy}: ${v.message}`),
    [
      "sg-ingress-ssh-and-router-only: gaudi-pd-router-0.0.0.0/0: opens the router (tcp 9192) to 0.0.0.0/0; limit it to infra.routerCidrs, or set allowPublicRouter: true in this policy's config",
    ],
  );
});
