// `gaudi-pd simulate` interrupted (a closed terminal, its output piped into `head`, Ctrl-C): nothing it started outlives it.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ClusterPlan, listenersOf, planCluster } from "../components/plan";
import { parseTopology } from "../components/topology";
import { boundOf } from "./helpers/listening";
import { portBlock } from "./helpers/ports";
import { CLI, REPO } from "./helpers/runCli";
import { withTempDir } from "./helpers/tempDir";

/** Every port of a case's stack (decode's +1000 shift included) lies in base .. base+SPAN-1, outside the ephemeral range. */
const SPAN = 1032;

/** One node, one prefill and one decode instance, the router beside them: the smallest whole cluster, in its own port block. */
function smallStack(): { plan: ClusterPlan; ports: number[]; yaml: string } {
  const base = portBlock(SPAN);
  const topology = {
    colocate: true,
    ports: { base, channelBase: base + 10, dpMaster: base + 20 },
    prefill: { instancesPerNode: 1 },
    decode: { instancesPerNode: 1 },
    router: { placement: "pd-0", port: base + 30, metricsPort: base + 31 },
  };
  const plan = planCluster(parseTopology(topology));
  const ports = listenersOf(plan).map((l) => l.port);
  assert.ok(
    ports.every((p) => p >= base && p < base + SPAN),
    `planned ports ${ports.join(" ")} outside ${base}..${base + SPAN - 1}`,
  );
  const yaml = `config:
  gaudi-pd:model: ibm-research/PowerMoE-3b
${Object.entries(topology)
  .map(([k, v]) => `  gaudi-pd:${k}: ${JSON.stringify(v)}`)
  .join("\n")}
  gaudi-pd:infra: {kind: aws, instanceType: dl1.24xlarge, ami: {owner: amazon, name: x}, sshCidrs: [203.0.113.0/24], routerCidrs: [203.0.113.0/24]}
`;
  return { plan, ports, yaml };
}

/** Processes (other than this one) whose command line or environment names `dir`, or whose command line names one of `ports`. */
function processesOf(dir: string, ports: readonly number[]): string[] {
  const portWord = new RegExp(`(^|\\D)(${ports.join("|")})(\\D|$)`);
  const found: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (cmdline.includes(dir) || portWord.test(cmdline) || fs.readFileSync(`/proc/${pid}/environ`, "utf8").includes(dir))
        found.push(`${pid}: ${cmdline}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Case {
  /** The case's directory: stack file, and TMPDIR (where simulate makes its work dir). */
  readonly root: string;
  readonly stack: ReturnType<typeof smallStack>;
}

/**
 * Runs `bash -c SHELL` (CMD stands for `simulate --stack sig …`, then `extra`) as the leader of its own process group,
 * as a shell runs a foreground job; once stderr matches `ready`, calls `interrupt(pid)`; resolves when bash has exited.
 */
function simulateUntil(c: Case, shell: string, extra: string, ready: RegExp | null, interrupt: (pid: number) => void): Promise<Ended> {
  const stacks = path.join(c.root, "stacks");
  const tmp = path.join(c.root, "tmp");
  fs.mkdirSync(stacks);
  fs.mkdirSync(tmp);
  fs.writeFileSync(path.join(stacks, "Pulumi.sig.yaml"), c.stack.yaml);
  const cmd = `exec '${process.execPath}' '${CLI}' simulate --stack sig --stacks-dir '${stacks}' --timeout 120 ${extra}`;
  const child = spawn("bash", ["-c", shell.replace("CMD", cmd)], { cwd: REPO, env: { ...process.env, TMPDIR: tmp }, detached: true });
  let stdout = "";
  let stderr = "";
  let signalled = false;
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
    if (ready && !signalled && ready.test(stderr)) {
      signalled = true;
      interrupt(child.pid!);
    }
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.kill(-child.pid!, "SIGKILL");
      reject(new Error(`simulate did not exit within 180 s of starting; stderr:\n${stderr}`));
    }, 180_000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** What every case must leave behind: no port of its block listening, no process of the run, no work directory. */
function assertNothingLeft(c: Case, r: Ended): void {
  assert.deepEqual(boundOf(c.stack.plan), [], `ports still bound after simulate exited; stderr:\n${r.stderr}`);
  assert.deepEqual(processesOf(c.root, c.stack.ports), [], `processes left; stderr:\n${r.stderr}`);
  // tsx's compile cache (tsx-<uid>) is the loader's, kept across runs by design; everything else is simulate's.
  const left = fs.readdirSync(path.join(c.root, "tmp")).filter((f) => !/^tsx-\d+$/.test(f));
  assert.deepEqual(left, [], `temp files left; stderr:\n${r.stderr}`);
}

/** Runs `body` for a case with its own directory and port block. */
const withCase = (body: (c: Case) => Promise<void>) => withTempDir("gaudi-pd-sim-signals-", (root) => body({ root, stack: smallStack() }));

test("SIGHUP (the terminal closed) while requests run: simulate stops everything, removes its work dir and exits 129", () =>
  withCase(async (c) => {
    const r = await simulateUntil(c, "CMD", "--requests 200000", /sending \d+ request/, (pid) => process.kill(pid, "SIGHUP"));
    assert.equal(r.code, 129, r.stderr);
    assert.match(r.stderr, /SIGHUP, stopping everything/);
    assertNothingLeft(c, r);
  }));

test("progress and result piped into `head -n 1` (EPIPE on the next line): simulate stops everything and exits 141", () =>
  withCase(async (c) => {
    // head keeps the first line and exits; simulate's next progress line (while instances start) meets a closed pipe.
    const r = await simulateUntil(c, 'CMD 2>&1 | head -n 1; echo "exit ${PIPESTATUS[0]}" >&2', "--requests 200000", null, () => undefined);
    assert.match(r.stdout, /^simulate: starting 2 instance\(s\) on 1 node\(s\)/, r.stdout);
    assert.match(r.stderr, /^exit 141$/m, "simulate exits 141 (128 + SIGPIPE) once its output is gone");
    assertNothingLeft(c, r);
  }));

test("only the result piped into `head -n 1`: the one summary line fits, simulate finishes, exits 0 and leaves nothing", () =>
  withCase(async (c) => {
    const r = await simulateUntil(c, 'CMD | head -n 1; echo "exit ${PIPESTATUS[0]}" >&2', "--requests 4", null, () => undefined);
    assert.match(r.stdout, /^4\/4 requests ok, 0 failed/, r.stderr);
    assert.match(r.stderr, /^exit 0$/m, r.stderr);
    assertNothingLeft(c, r);
  }));

test("the result's reader gone before the summary (`| true`): simulate finishes, exits 141 without a stack trace, leaves nothing", () =>
  withCase(async (c) => {
    const r = await simulateUntil(c, 'CMD | true; echo "exit ${PIPESTATUS[0]}" >&2', "--requests 4", null, () => undefined);
    assert.match(r.stderr, /^exit 141$/m, r.stderr);
    assert.doesNotMatch(r.stderr, /EPIPE|^\s+at /m, r.stderr);
    assertNothingLeft(c, r);
  }));

test("Ctrl-C twice (SIGINT to the whole process group) while instances start: simulate stops everything and exits 130", () =>
  withCase(async (c) => {
    const r = await simulateUntil(c, "CMD", "--requests 200000", /starting \d+ instance/, (pid) => {
      process.kill(-pid, "SIGINT");
      // An impatient second Ctrl-C while everything stops must not cut the teardown short.
      setTimeout(() => {
        try {
          process.kill(-pid, "SIGINT");
        } catch {
          // Everything had stopped already: nothing left to interrupt.
        }
      }, 300);
    });
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /SIGINT, stopping everything/);
    assertNothingLeft(c, r);
  }));
