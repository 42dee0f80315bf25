// `gaudi-pd status` against a `hosts` stack deployed over real SSH to test hosts (as the serve commands deploy
// it): all healthy; then an instance killed for good is reported down with the replace command whose URN is the
// one the program registers for that node's serve command; replacing that command (delete, create) heals it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { instanceService, PROGRAM_CLUSTER, REMOTE_COMMAND_TYPE, serveName, systemdUnit, unitStateDir } from "../components/names";
import { scriptCommands } from "../components/render/hostCommands";
import { renderNodeScript } from "../components/render/nodeScript";
import { RunResult } from "../cli/processes";
import { HostKind } from "./harness/hostKinds";
import { HostsStack, hostsStackSkip as skip, showRun as show } from "./harness/hostsStack";
import { hostOf } from "./harness/testHostCluster";
import { sleep } from "./harness/testHosts";
import { runProgram, TEST_PRIVATE_KEY } from "./helpers/pulumiMocks";
import { runCli } from "./helpers/runCli";

/** The mocks run stack `test`: the stack file gets that name so the URNs can be compared. */
const STACK = "test";

let deployed: HostsStack | undefined;

const status = () => runCli(["status", ...(deployed as HostsStack).cliArgs()]);

/** decode-0's instance killed so that nothing brings it back, as each kind of host can lose one. */
async function killForGood(kind: HostKind): Promise<void> {
  const { hosts: th, plan } = deployed as HostsStack;
  let r: RunResult;
  if (kind === "netns") {
    // Pid files hold the host's own PID-namespace numbers: kill from inside it, the supervisor first so nothing restarts the instance.
    const state = unitStateDir(plan.topology.stateDir, "decode-0");
    r = await th.ssh(hostOf("decode-0"), `kill -KILL "$(cat ${state}/decode-0.supervisor.pid)" && kill -KILL "$(cat ${state}/decode-0.pid)"`);
  } else {
    // systemd restarts a killed unit: kill it each time it is back until it hits its start limit and stays failed.
    const unit = `${systemdUnit("decode-0")}@${instanceService("decode", 0)}.service`;
    const state = `systemctl show -p ActiveState --value ${unit}`;
    r = await th.ssh(
      hostOf("decode-0"),
      `for t in $(seq 60); do s=$(${state}); [ "$s" = failed ] && exit 0; [ "$s" = active ] && systemctl kill -s KILL ${unit}; sleep 0.5; done; exit 1`,
    );
  }
  assert.equal(r.code, 0, show("kill for good", r));
}

for (const kind of ["netns", "systemd"] as const) {
  describe(`${kind} test hosts`, { skip }, () => {
    before(async () => {
      deployed = await HostsStack.deploy(kind, STACK);
    });
    after(async () => {
      await deployed?.teardown();
      deployed = undefined;
    });

    test("every instance and the router healthy: one line each, /readiness 200, exit 0, no replace to run", () => {
      const r = status();
      assert.equal(r.code, 0, show("status", r));
      const rows = r.stdout.split("\n").filter((l) => /^(prefill-0|decode-0|router) /.test(l));
      assert.equal(rows.length, 3, r.stdout);
      for (const row of rows) assert.match(row, / healthy +\/(health|readiness) 200$/, r.stdout);
      assert.match(r.stdout, /^router +vllm-router +9192 +healthy +\/readiness 200$/m);
      assert.doesNotMatch(r.stdout, /pulumi up/);
      assert.doesNotMatch(r.stdout + r.stderr, /PRIVATE KEY/);
    });

    test("an instance killed for good: reported down, and the printed replace targets exactly its node's serve command", async () => {
      const { hosts: th, plan, config } = deployed as HostsStack;
      await killForGood(kind);
      let r = status();
      for (let t = 0; t < 20 && !/decode-0 +decode-0 +9300 +down/.test(r.stdout); t++) {
        await sleep(250);
        r = status();
      }
      console.log(r.stdout);
      assert.equal(r.code, 1, show("status", r));
      assert.match(r.stdout, /^decode-0 +decode-0 +9300 +down \(gave up or was killed( after \d+ restarts?)?\) +\/health no answer$/m, r.stdout);
      assert.match(r.stdout, /^prefill-0 +prefill-0 +8300 +healthy/m, r.stdout);
      const commands = r.stdout.split("\n").filter((l) => l.trim().startsWith("pulumi "));
      assert.equal(commands.length, 1, r.stdout);
      const m = /^ {2}pulumi up --stack test --replace '([^']+)'$/.exec(commands[0]);
      assert.ok(m, commands[0]);

      // The same stack config run as the program under mocks: the URN is that of decode-0's serve command, and only of it.
      const run = await runProgram({ ...config, "gaudi-pd:sshPrivateKey": TEST_PRIVATE_KEY }, ["gaudi-pd:sshPrivateKey"]);
      const targeted = run.resources.filter((x) => x.urn === m[1]);
      assert.deepEqual(
        targeted.map((x) => [x.type, x.name]),
        [[REMOTE_COMMAND_TYPE, serveName(PROGRAM_CLUSTER, "decode-0")]],
      );

      // What that replace does (deleteBeforeReplace: delete, then create) brings the node back.
      const del = await th.ssh(hostOf("decode-0"), scriptCommands(plan.topology.stateDir, "decode-0").delete);
      assert.equal(del.code, 0, show("delete", del));
      const again = await (deployed as HostsStack).create("decode-0", "decode-0", renderNodeScript(plan, "decode-0"));
      assert.equal(again.code, 0, show("create", again));
      const healed = status();
      assert.equal(healed.code, 0, show("status after the replace", healed));
    });

    test("a host that does not answer SSH is reported unknown, with no replace command for it", () => {
      const { dir, config } = deployed as HostsStack;
      const wrong = path.join(dir, "stacks-wrong");
      fs.mkdirSync(wrong, { recursive: true });
      const infra = { ...(config["gaudi-pd:infra"] as Record<string, unknown>), sshPort: 2 };
      fs.writeFileSync(path.join(wrong, `Pulumi.${STACK}.yaml`), yaml.dump({ config: { ...config, "gaudi-pd:infra": infra } }));
      const r = runCli(["status", ...(deployed as HostsStack).cliArgs(wrong)]);
      assert.equal(r.code, 1, show("status", r));
      assert.match(r.stdout, /^decode-0 +decode-0 +9300 +unknown: root@198\.18\.0\.\d+: .*refused/m, r.stdout);
      assert.doesNotMatch(r.stdout, /pulumi up/);
    });
  });
}
