// nixl-ucx-transports-on-efa: an advisory when UCX is told to use rc/ib verbs on AWS, where the fabric is EFA.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { nixlTransportOnEfa } from "../policy/nixlTransportOnEfa";
import { parseTopology } from "../components/topology";
import { messages, validateStack } from "./helpers/policyHarness";

const aws = { kind: "aws", ami: { id: "ami-0123abcd" }, sshCidrs: ["203.0.113.0/24"] };
const serving = (raw: object) => [{ type: "gaudi-pd:index:PdServing", name: "gaudi-pd", props: { topology: parseTopology(raw) } }];

test("the seed default rc,ud,ib on AWS draws one advisory for both roles, naming the fix", async () => {
  const out = await validateStack(nixlTransportOnEfa, serving({ infra: aws }));
  assert.deepEqual(messages(out), [
    'gaudi-pd: prefill and decode nixl.ucxTls "rc,ud,ib" asks for rc/ib verbs, which EFA does not carry (it speaks libfabric/SRD); set nixl.backend: LIBFABRIC, or nixl.ucxTls without rc and ib',
  ]);
  assert.equal(out.violations[0].level, "advisory");
});

test("a role overriding its transports gets its own advisory; rc_x counts as rc", async () => {
  const out = messages(
    await validateStack(nixlTransportOnEfa, serving({ infra: aws, nixl: { ucxTls: "tcp" }, decode: { nixl: { ucxTls: "rc_x,tcp" } } })),
  );
  assert.equal(out.length, 1);
  assert.match(out[0], /^gaudi-pd: decode nixl\.ucxTls "rc_x,tcp" asks for rc\/ib verbs/);
});

test("LIBFABRIC, transports without rc/ib, and existing hosts (InfiniBand may be there) pass", async () => {
  assert.deepEqual(messages(await validateStack(nixlTransportOnEfa, serving({ infra: aws, nixl: { backend: "LIBFABRIC" } }))), []);
  assert.deepEqual(messages(await validateStack(nixlTransportOnEfa, serving({ infra: aws, nixl: { ucxTls: "tcp,ud" } }))), []);
  const hosts = { kind: "hosts", prefill: [{ address: "192.0.2.10" }], decode: [{ address: "192.0.2.11" }], router: { address: "192.0.2.12" } };
  assert.equal((await validateStack(nixlTransportOnEfa, serving({ infra: hosts }))).notApplicable, "no deployment on AWS with a registered topology");
});
