// `gaudi-pd simulate` interrupted (a closed terminal, its output piped into `head`, Ctrl-C): nothing it started outlives it.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { planCluster } from "../components/plan";
import { parseTopology } from "../components/topology";
import { boundOf } from "./helpers/listening";
import { portBlock } from "./helpers/ports";
import { CLI, REPO } from "./helpers/runCli";
import { withTempDir } from "./helpers/tempDir";

/** Every port of the stack below lies in base .. base+6001, outside the ephemeral range. */
const base = portBlock(6002);
const topology = {
  colocate: true,
  ports: { base, channelBase: base + 2000, dpMaster: base + 4000 },
  prefill: { instancesPerNode: 2, dpSize: 2 },
  decode: { instancesPerNode: 2, dpSize: 2 },
  router: { placement: "pd-0", port: base + 6000, metricsPort: base + 6001 },
};
const plan = planCluster(parseTopology(topology));

const STACK = `config:
  gaudi-pd:model: ibm-research/PowerMoE-3b
${Object.entries(topology).map(([k, v]) => `  gaudi-pd:${k}: ${JSON.stringify(v)}`).join("\n")}
  gaudi-pd:infra: {kind: aws, instanceType: dl1.24xlarge, ami: {owner: amazon, name: x}, sshCidrs: [203.0.113.0/24], routerCidrs: [203.0.113.0/24]}
`;

/** Processes whose command line or environment mentions `dir` (the simulation's work dir lies under it). */
function processesMentioning(dir: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (cmdline.includes(dir) || fs.readFileSync(`/proc/${pid}/environ`, "utf8").includes(dir)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

interface Interrupted {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/**
 * Runs `simulate --stack sig` through `bash -c SHELL` (CMD stands for the simulate command) in its own process group,
 * with TMPDIR under `root`; once stderr matches `ready`, calls `interrupt(pid)`; resolves when bash has exited.
 */
function simulateUntil(root: string, shell: string, ready: RegExp | null, interrupt: (pid: number) => void): Promise<Interrupted> {
  const stacks = path.join(root, "stacks");
  const tmp = path.join(root, "tmp");
  fs.mkdirSync(stacks);
  fs.mkdirSync(tmp);
  fs.writeFileSync(path.join(stacks, "Pulumi.sig.yaml"), STACK);
  const cmd = `exec '${process.execPath}' '${CLI}' simulate --stack sig --stacks-dir '${stacks}' --requests 200000 --timeout 120`;
  const child = spawn("bash", ["-c", shell.replace("CMD", cmd)], { cwd: REPO, env: { ...process.env, TMPDIR: tmp }, detached: true });
  let stderr = "";
  let signalled = false;
  child.stdout.resume();
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
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

/** What every interruption must leave behind: nothing listening, no process of the run, no work directory. */
function assertNothingLeft(root: string, r: Interrupted): void {
  assert.deepEqual(boundOf(plan), [], `ports still bound after simulate exited; stderr:\n${r.stderr}`);
  assert.deepEqual(processesMentioning(root), [], `processes left; stderr:\n${r.stderr}`);
  // tsx's compile cache (tsx-<uid>) is the loader's, kept across runs by design; everything else is simulate's.
  const left = fs.readdirSync(path.join(root, "tmp")).filter((f) => !/^tsx-\d+$/.test(f));
  assert.deepEqual(left, [], `temp files left; stderr:\n${r.stderr}`);
}

test("SIGHUP (the terminal closed) once instances are healthy: simulate stops everything and removes its work dir", () =>
  withTempDir("gaudi-pd-sim-signals-", async (root) => {
    const r = await simulateUntil(root, "CMD", /all instances healthy|sending \d+ request/, (pid) => process.kill(pid, "SIGHUP"));
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted, stopping everything/);
    assertNothingLeft(root, r);
  }));

test("output piped into `head -n 1` (EPIPE on its next line): simulate stops everything and removes its work dir", () =>
  withTempDir("gaudi-pd-sim-signals-", async (root) => {
    // Nothing is read from stderr here: head closes the pipe after the first line and bash exits once simulate has.
    const r = await simulateUntil(root, "set -o pipefail; CMD 2>&1 | head -n 1 >/dev/null; echo \"exit ${PIPESTATUS[0]}\" >&2", null, () => undefined);
    assert.match(r.stderr, /^exit 130$/m, "simulate exits 130 once its output is gone");
    assertNothingLeft(root, r);
  }));

test("Ctrl-C (SIGINT to the whole process group) while instances start: simulate stops everything and removes its work dir", () =>
  withTempDir("gaudi-pd-sim-signals-", async (root) => {
    const r = await simulateUntil(root, "CMD", /starting \d+ instance/, (pid) => process.kill(-pid, "SIGINT"));
    assert.equal(r.code, 130, r.stderr);
    assertNothingLeft(root, r);
  }));
