// Names under mocks: every child is named after its component, so two clusters live in one stack, and the
// URNs the names module builds are the ones the program registers.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { PdCluster } from "../components/pdCluster";
import { COMPONENT_TYPES, DEDICATED_ROUTER_NODE, REMOTE_COMMAND_TYPE, routerServeName, serveName, servingCommandUrn } from "../components/names";
import { rawTopologyFromConfig } from "../components/stackConfig";
import { byType, Recorded, runMocked, stackConfig, TEST_HF_TOKEN, TEST_PRIVATE_KEY, TYPES } from "./helpers/pulumiMocks";

/** Two clusters of one stack's config, side by side in one program. */
async function twoClusters(stack: string, names: readonly string[]) {
  const { config } = stackConfig(stack);
  return runMocked(() => {
    const args = () => ({
      topology: rawTopologyFromConfig(config),
      hfToken: pulumi.secret(TEST_HF_TOKEN),
      sshPrivateKey: pulumi.secret(TEST_PRIVATE_KEY),
    });
    const clusters = names.map((name) => new PdCluster(name, args()));
    return Object.fromEntries(clusters.map((c, k) => [`${names[k]}RouterUrl`, c.routerUrl]));
  });
}

const duplicates = (values: readonly string[]) => values.filter((v, k) => values.indexOf(v) !== k);

for (const stack of ["multi-node", "hosts", "single-node"]) {
  test(`${stack}: two PdClusters in one program register no URN twice, and each child carries its cluster's name`, async () => {
    const r = await twoClusters(stack, ["east", "west"]);
    const children = r.resources.filter((x) => x.type !== TYPES.stack);
    assert.deepEqual(duplicates(children.map((x) => x.urn)), []);
    // The AWS provider is keyed by type too, but every name below a cluster starts with that cluster's name.
    for (const x of children) assert.match(x.name, /^(east|west)(-|$)/, `${x.type} ${x.name}`);
    const east = children.filter((x) => x.name.startsWith("east"));
    const west = children.filter((x) => x.name.startsWith("west"));
    assert.equal(east.length, west.length);
    assert.deepEqual(east.map((x) => x.name.replace(/^east/, "")).sort(), west.map((x) => x.name.replace(/^west/, "")).sort());
    for (const cluster of ["east", "west"]) {
      const serves = byType(r, TYPES.command)
        .filter((c) => c.name.startsWith(`${cluster}-`) && c.name.endsWith("-serve"))
        .map((c) => c.name);
      assert.ok(serves.includes(routerServeName(cluster)), serves.join(" "));
      assert.ok(serves.length >= 2, serves.join(" "));
    }
  });
}

test("the URN of a node's serve command, as the names module builds it, is the one the program registers", async () => {
  const r = await twoClusters("multi-node", ["gaudi-pd", "other"]);
  const serve = (name: string): Recorded => {
    const found = r.resources.find((x) => x.type === REMOTE_COMMAND_TYPE && x.name === name);
    assert.ok(found, `no command ${name}`);
    return found;
  };
  for (const node of ["prefill-0", "decode-1", DEDICATED_ROUTER_NODE]) {
    const name = node === DEDICATED_ROUTER_NODE ? routerServeName("gaudi-pd") : serveName("gaudi-pd", node);
    assert.equal(servingCommandUrn(pulumi.getStack(), pulumi.getProject(), name), serve(name).urn);
  }
  assert.equal(
    serve(serveName("gaudi-pd", "decode-1")).urn,
    `urn:pulumi:test::gaudi-pd::${COMPONENT_TYPES.pdCluster}$${COMPONENT_TYPES.pdServing}$${REMOTE_COMMAND_TYPE}::gaudi-pd-decode-1-serve`,
  );
  assert.equal(servingCommandUrn("test", "gaudi-pd", serveName("other", "decode-1")), serve("other-decode-1-serve").urn);
});
