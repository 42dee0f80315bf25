// `gaudi-pd verify --stack NAME` against a live `hosts` stack on test hosts (one prefill, one decode node, a router):
// a healthy cluster verifies; once decode-0 is redeployed with the stand-in's fallback knob (it answers without pulling
// KV, as a decode instance silently fallen back to decode-only does), verify fails with one line naming that instance.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { scriptCommands } from "../components/render/hostCommands";
import { renderNodeScript } from "../components/render/nodeScript";
import { planStack } from "../cli/planCommand";
import { HostsStack, hostsStackSkip as skip, showRun as show } from "./harness/hostsStack";
import { hostOf } from "./harness/testHostCluster";
import { runCli } from "./helpers/runCli";

const STACK = "live";
/** Verify waits up to 30 s for counters that never catch up on a fallen-back instance. */
const VERIFY_TIMEOUT_MS = 120_000;

let deployed: HostsStack | undefined;

const verify = () => runCli(["verify", ...(deployed as HostsStack).cliArgs()], {}, VERIFY_TIMEOUT_MS);

describe("gaudi-pd verify on a live hosts stack", { skip }, () => {
  before(async () => {
    deployed = await HostsStack.deploy("netns", STACK);
  });
  after(async () => {
    await deployed?.teardown();
    deployed = undefined;
  });

  test("a healthy cluster verifies: exit 0, every decoded request pulled its KV", { timeout: VERIFY_TIMEOUT_MS }, () => {
    const r = verify();
    assert.equal(r.code, 0, show("verify", r));
    assert.match(
      r.stdout,
      /^verify: ok: every decode instance pulled KV over NIXL for every request it decoded \([1-9]\d* transfer\(s\), no failures\)$/m,
    );
    assert.doesNotMatch(r.stderr, /FAILED/);
  });

  test("decode-0 fallen back to decode-only: exit 1, one line naming decode-0 instance 0", { timeout: 2 * VERIFY_TIMEOUT_MS }, async () => {
    const s = deployed as HostsStack;
    // decode-0 replaced by the script of the same stack with the knob on its one instance (the stack file stays healthy).
    const port = s.plan.instances.find((i) => i.node === "decode-0")?.port;
    const knobbed = path.join(s.dir, "stacks-fallback");
    fs.mkdirSync(knobbed);
    const config = { ...s.config, "gaudi-pd:decode": { env: { VLLM_SIM_SKIP_KV_PULL: String(port) } } };
    fs.writeFileSync(path.join(knobbed, `Pulumi.${STACK}.yaml`), yaml.dump({ config }));
    const del = await s.hosts.ssh(hostOf("decode-0"), scriptCommands(s.plan.topology.stateDir, "decode-0").delete);
    assert.equal(del.code, 0, show("delete on decode-0", del));
    const again = await s.create("decode-0", "decode-0", renderNodeScript(planStack(STACK, knobbed).plan, "decode-0"));
    assert.equal(again.code, 0, show("create on decode-0", again));

    const r = verify();
    assert.equal(r.code, 1, show("verify", r));
    const findings = r.stderr.split("\n").filter((l) => l.startsWith("verify: "));
    assert.equal(findings.length, 1, r.stderr);
    assert.match(
      findings[0],
      /^verify: FAILED: decode-0 instance 0 decoded [1-9]\d* request\(s\) with no KV transfer: requests fell back to decode-only; check VLLM_NIXL_SIDE_CHANNEL_HOST and the prefill side channel$/,
    );
    assert.doesNotMatch(r.stdout + r.stderr, /PRIVATE KEY/);
  });
});
