// A deployed `hosts` stack for the CLI's stack commands (status, verify): test hosts for prefill-0, decode-0 and a
// dedicated router, a stack file whose `infra.kind: hosts` lists them, and the node and router scripts started on
// them over SSH as their serve commands start them (all at once). `cliArgs` reaches the stack as a user would.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { ClusterPlan } from "../../components/plan";
import { scriptCommands } from "../../components/render/hostCommands";
import { renderNodeScript } from "../../components/render/nodeScript";
import { renderRouterScript } from "../../components/render/routerScript";
import { planStack } from "../../cli/planCommand";
import { RunResult } from "../../cli/processes";
import { STAND_IN } from "../../sim/standIn";
import { HostKind } from "./hostKinds";
import { addressesOf, hostOf, hostsInfra, TEST_MODEL } from "./testHostCluster";
import { TestHosts } from "./testHosts";
import { REPO } from "../helpers/runCli";

const NODES = ["prefill-0", "decode-0", "router"] as const;

/** Why a stack test cannot run here (the stand-in or vllm-router missing), or undefined. */
export const hostsStackSkip = [
  [STAND_IN, "the vLLM stand-in"],
  [path.join(REPO, ".venv-router", "bin", "vllm-router"), "vllm-router (scripts/install-router.sh)"],
]
  .filter(([f]) => !fs.existsSync(f))
  .map(([, what]) => `${what} is not installed`)[0];

export const showRun = (what: string, r: { code: number | null; stdout: string; stderr: string }) =>
  `${what} exited ${r.code}\n${r.stdout}\n${r.stderr}`;

export class HostsStack {
  private constructor(
    readonly hosts: TestHosts,
    /** The temporary directory holding the stack file and known_hosts; removed by teardown. */
    readonly dir: string,
    readonly stack: string,
    /** The stack file's config (`gaudi-pd:` keys). */
    readonly config: Record<string, unknown>,
    /** The plan `gaudi-pd` makes of the stack file. */
    readonly plan: ClusterPlan,
  ) {}

  /** Test hosts of `kind` with stack `stack` (healthTimeoutSecs 120) deployed on them. */
  static async deploy(kind: HostKind, stack: string): Promise<HostsStack> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gaudi-pd-stack-"));
    let hosts: TestHosts | undefined;
    try {
      hosts = await TestHosts.start(NODES.map(hostOf), REPO, { kind });
      const config = {
        "gaudi-pd:model": TEST_MODEL,
        "gaudi-pd:vllmCommand": "vllm",
        "gaudi-pd:healthTimeoutSecs": 120,
        "gaudi-pd:infra": hostsInfra(addressesOf(hosts, NODES)),
      };
      fs.mkdirSync(path.join(dir, "stacks"));
      fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${stack}.yaml`), yaml.dump({ config }));
      const s = new HostsStack(hosts, dir, stack, config, planStack(stack, path.join(dir, "stacks")).plan);
      const results = await Promise.all([
        ...["prefill-0", "decode-0"].map((n) => s.create(n, n, renderNodeScript(s.plan, n))),
        s.create("router", "router", renderRouterScript(s.plan)),
      ]);
      results.forEach((r, k) => {
        if (r.code !== 0) throw new Error(showRun(`create on ${NODES[k]}`, r));
      });
      return s;
    } catch (e) {
      await hosts?.teardown();
      fs.rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** A unit's create on a plan node's host, as its serve command runs it: the script on stdin. */
  create(unit: string, node: string, script: string): Promise<RunResult> {
    return this.hosts.ssh(hostOf(node), scriptCommands(this.plan.topology.stateDir, unit).create, { stdin: script, timeoutMs: 180_000 });
  }

  /** The CLI flags that reach this stack over SSH, from a stacks directory `stacksDir` (by default the stack's own). */
  cliArgs(stacksDir = path.join(this.dir, "stacks")): string[] {
    return [
      "--stack",
      this.stack,
      "--stacks-dir",
      stacksDir,
      "--ssh-key-file",
      this.hosts.keyFile,
      "--known-hosts",
      path.join(this.dir, "known_hosts"),
    ];
  }

  async teardown(): Promise<void> {
    await this.hosts.teardown();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
