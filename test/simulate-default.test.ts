// `gaudi-pd simulate` without --stack runs an embedded topology: it must stay the single-node stack's, infra aside.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { planStack } from "../cli/planCommand";
import { DEFAULT_SIMULATION } from "../cli/simulateCommand";
import { parseTopology } from "../components/topology";

test("the embedded default is stacks/Pulumi.single-node.yaml's topology, machines aside", () => {
  const embedded = parseTopology(DEFAULT_SIMULATION);
  const stack = planStack("single-node").topology;
  assert.deepEqual({ ...embedded, infra: null }, { ...stack, infra: null });
  assert.equal(embedded.infra, null, "a simulation needs no machines");
});
