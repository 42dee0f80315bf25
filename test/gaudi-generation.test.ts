// One table of Gaudi machine types: the topology's defaults, PdCluster's warning at preview, and the policies read it.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { GAUDI_INSTANCE_TYPES, unsupportedGeneration } from "../components/gaudiMachines";
import { parseTopology } from "../components/topology";
import { runProgram, stackConfig } from "./helpers/pulumiMocks";

const aws = (extra: object = {}) => ({ infra: { kind: "aws", ami: { id: "ami-0123abcd" }, sshCidrs: ["203.0.113.0/24"], ...extra } });
const infraOf = (raw: object) => parseTopology(raw).infra as { hpusPerNode: number; efaInterfaces: number };

test("AWS defaults come from the instance type: dl1.24xlarge has 8 HPUs and 4 EFA interfaces; an unknown type gets no EFA", () => {
  assert.deepEqual(GAUDI_INSTANCE_TYPES["dl1.24xlarge"], { generation: 1, hpus: 8, efaInterfaces: 4 });
  assert.deepEqual([infraOf(aws()).hpusPerNode, infraOf(aws()).efaInterfaces], [8, 4]);
  const unknown = infraOf(aws({ instanceType: "gaudi9.example" }));
  assert.deepEqual([unknown.hpusPerNode, unknown.efaInterfaces], [8, 0]);
  const given = infraOf(aws({ hpusPerNode: 4, efaInterfaces: 2 }));
  assert.deepEqual([given.hpusPerNode, given.efaInterfaces], [4, 2]);
  assert.equal(parseTopology(aws({ hpusPerNode: 4 })).hpusPerNode, 4, "the plan's HPU capacity follows");
  assert.equal(unsupportedGeneration("toString"), null, "only the table's own entries count");
});

/** Run a stack under mocks and collect what the program warned (without an engine, pulumi.log.warn writes to console.warn). */
async function warningsOf(stack: string): Promise<string[]> {
  const warned: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => void warned.push(args.map(String).join(" "));
  try {
    const { config, secretKeys } = stackConfig(stack);
    await runProgram(config, secretKeys);
  } finally {
    console.warn = original;
  }
  return warned;
}

test("an AWS stack on dl1 previews with a warning naming the type and why; a hosts stack does not", async () => {
  const warned = await warningsOf("multi-node");
  const gaudi1 = warned.filter((w) => w.includes("first-generation Gaudi"));
  assert.equal(gaudi1.length, 1, warned.join("\n"));
  assert.match(
    gaudi1[0],
    /gaudi-pd: the serving nodes' instance type dl1\.24xlarge carries first-generation Gaudi, which vllm-gaudi does not support \(Gaudi 2 and 3 only\)/,
  );
  assert.match(gaudi1[0], /infra\.kind: hosts/);
  assert.deepEqual(
    (await warningsOf("hosts")).filter((w) => w.includes("first-generation Gaudi")),
    [],
  );
});
