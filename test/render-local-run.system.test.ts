// The host scripts run for real on this machine (no SSH): the vLLM stand-in under the supervisor, the real
// vllm-router, faults, restarts, idempotence, a clean stop; and the systemd branch against a stand-in systemctl.
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ClusterPlan, planCluster } from "../components/plan";
import { TEST_MODEL } from "./harness/testHostCluster";
import { hfTokenFile } from "../components/names";
import { renderNodeScript } from "../components/render/nodeScript";
import { renderRouterScript } from "../components/render/routerScript";
import { parseTopology } from "../components/topology";
import { STAND_IN } from "../sim/standIn";
import { boundOf, listening } from "./helpers/listening";

const REPO = path.resolve(__dirname, "..");
const SIM = STAND_IN;
const ROUTER_BIN = path.join(REPO, ".venv-router", "bin");
const TOKEN = "hf_LocalRunToken0123456789";
const CANARY = "GAUDI_PD_TEST_CANARY";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gaudi-pd-local-run-"));

/** A small colocated node on 127.0.0.1 with its own ports (prefill DP 2, decode without DP) and directories. */
function localPlan(name: string, base: number, extra: object = {}): ClusterPlan {
  const raw = {
    colocate: true,
    // A local model: the node checks it instead of fetching it (model-fetch.system.test.ts runs the fetch).
    model: TEST_MODEL,
    vllmCommand: SIM,
    stateDir: path.join(tmp, name, "state"),
    logDir: path.join(tmp, name, "log"),
    healthTimeoutSecs: 60,
    ports: { base, channelBase: base + 2000, dpMaster: base + 4000 },
    prefill: { instancesPerNode: 2, dpSize: 2 },
    decode: { instancesPerNode: 2 },
    router: { placement: "pd-0", port: base + 900 },
    ...extra,
  };
  return planCluster(parseTopology(raw), { addresses: { "pd-0": "127.0.0.1" } });
}

interface Script {
  readonly file: string;
  readonly plan: ClusterPlan;
  /** Wraps the bash command line, e.g. into a private mount namespace. */
  readonly wrap: (argv: string[]) => string[];
  readonly env: NodeJS.ProcessEnv;
}
const written: Script[] = [];

function script(name: string, plan: ClusterPlan, text: string, opts: Partial<Pick<Script, "wrap" | "env">> = {}): Script {
  const file = path.join(tmp, `${name}.sh`);
  fs.writeFileSync(file, text);
  const s: Script = { file, plan, wrap: opts.wrap ?? ((a) => a), env: { GAUDI_PD_MODE: "supervised", ...opts.env } };
  written.push(s);
  return s;
}

function sh(s: Script, verbs: string[], env: NodeJS.ProcessEnv = {}) {
  const [cmd, ...args] = s.wrap(["bash", s.file, ...verbs]);
  const started = Date.now();
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, [CANARY]: "leaked", GAUDI_PD_WAIT_TIMEOUT: "60", ...s.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started, all: `${r.stdout}\n${r.stderr}` };
}

/** Live (non-zombie) processes with their argv. */
function processes(): { pid: number; argv: string[] }[] {
  const out: { pid: number; argv: string[] }[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/stat`, "utf8").replace(/^.*\) /s, "")[0] === "Z") continue;
      out.push({ pid: Number(d), argv: fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").slice(0, -1) });
    } catch {
      // Gone while we looked.
    }
  }
  return out;
}
const servingOn = (port: number) => processes().filter((p) => p.argv.some((w, k) => w === "--port" && p.argv[k + 1] === String(port)));
const environ = (pid: number) =>
  new Map(
    fs
      .readFileSync(`/proc/${pid}/environ`, "utf8")
      .split("\0")
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await sleep(100)) if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
}

before(() => {
  assert.ok(fs.existsSync(SIM), `the vLLM stand-in ${SIM} is required`);
  assert.ok(fs.existsSync(path.join(ROUTER_BIN, "vllm-router")), "the pinned router is required: run scripts/install-router.sh");
});

after(() => {
  for (const s of written) sh(s, ["stop"]);
  // Should a stop have failed, its test says so; nothing of this suite may outlive it either way.
  const ports = new Set(written.flatMap((s) => s.plan.instances.map((i) => String(i.port))));
  for (const p of processes()) {
    if (p.argv.some((w, k) => w.startsWith(tmp) || (w === "--port" && ports.has(p.argv[k + 1])))) process.kill(p.pid, "SIGKILL");
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

const main = localPlan("main", 21000, { hfToken: "set", decode: { instancesPerNode: 2, env: { EXTRA_SETTING: "it's kept" } } });
const node = script("node", main, renderNodeScript(main, "pd-0"));

test("install start wait status: every instance healthy, seed-named logs, a clean environment with the HF token", () => {
  const tokenFile = hfTokenFile(main.topology.stateDir);
  fs.mkdirSync(path.dirname(tokenFile), { recursive: true, mode: 0o700 });
  fs.writeFileSync(tokenFile, `HF_TOKEN=${TOKEN}\n`, { mode: 0o600 });

  const r = sh(node, ["install", "start", "wait", "status"]);
  assert.equal(r.code, 0, r.all);
  assert.match(r.stdout, /4\/4 healthy after \d+ s/);
  assert.equal(r.stdout.split("\n").filter((l) => / port \d+ +running \(pid \d+, supervisor \d+\) +healthy$/.test(l)).length, 4, r.stdout);

  const logs = fs.readdirSync(main.topology.logDir).sort();
  assert.equal(logs.length, 4);
  for (const l of logs) assert.match(l, /^vllm_server_\d{8}_\d{6}_(prefill|decode)_[01]\.log$/);
  assert.deepEqual(logs.map((l) => l.replace(/^vllm_server_\d{8}_\d{6}_|\.log$/g, "")).sort(), main.instances.map((i) => i.logName).sort());

  for (const i of main.instances) {
    const procs = servingOn(i.port);
    assert.equal(procs.length, 1, `one process serves ${i.port}`);
    const env = environ(procs[0].pid);
    for (const [k, v] of Object.entries(i.env)) assert.equal(env.get(k), v, `${i.logName} ${k}`);
    assert.equal(env.get("HF_TOKEN"), TOKEN, "the token reaches the instance");
    assert.ok(env.get("PATH") && env.get("HOME"));
    assert.equal(env.has(CANARY), false, "nothing leaks from the caller's environment");
    // The stand-in's own bash wrapper adds PWD, SHLVL and _ before it execs node.
    const extra = [...env.keys()].filter((k) => !(k in i.env) && !["PATH", "HOME", "HF_TOKEN", "PWD", "SHLVL", "_"].includes(k));
    assert.deepEqual(extra, [], `${i.logName}: only the planned environment`);
  }
  const everything = [
    r.all,
    fs.readFileSync(node.file, "utf8"),
    ...logs.map((l) => fs.readFileSync(path.join(main.topology.logDir, l), "utf8")),
  ].join("\n");
  assert.ok(!everything.includes(TOKEN), "the token is in no output, script or log");
});

test("install start again leaves exactly one process and one supervisor per instance", () => {
  const r = sh(node, ["install", "start"]);
  assert.equal(r.code, 0, r.all);
  assert.match(r.stdout, /0 started, 4 already running/);
  for (const i of main.instances) {
    assert.equal(servingOn(i.port).length, 1, `one process serves ${i.port}`);
    const key = `${i.role}-${i.instance}`;
    const supervisors = processes().filter((p) => p.argv[1] === path.join(main.topology.stateDir, "pd-0", "supervise.sh") && p.argv[2] === key);
    assert.equal(supervisors.length, 1, `one supervisor for ${key}`);
  }
});

test("the router: the pinned vllm-router from PATH, ready once its workers are, and stopped cleanly", async () => {
  const router = script("router", main, renderRouterScript(main), { env: { PATH: `${ROUTER_BIN}:${process.env.PATH}` } });
  const r = sh(router, ["install", "start", "wait", "status"]);
  assert.equal(r.code, 0, r.all);
  assert.match(r.all, /using .*\/vllm-router \(vllm-router 0\.1\.17\)/);
  const res = await fetch(`http://127.0.0.1:${main.router.port}/readiness`);
  assert.equal(res.status, 200);
  const envFile = fs.readFileSync(path.join(main.topology.stateDir, "router", "vllm-router.env"), "utf8");
  assert.match(
    envFile,
    new RegExp(`^PATH=${ROUTER_BIN.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:`, "m"),
    "the router runs with the PATH it was found on",
  );
  const stop = sh(router, ["stop"]);
  assert.equal(stop.code, 0, stop.all);
  assert.equal(listening().has(main.router.port), false);
});

test("the router from the state directory's virtualenv when the one on PATH is not the pinned version", () => {
  const plan = localPlan("venv", 21000);
  fs.mkdirSync(path.join(plan.topology.stateDir, "router"), { recursive: true });
  // The repo's pinned virtualenv stands in for the one install would create (no network needed).
  fs.symlinkSync(path.join(REPO, ".venv-router"), path.join(plan.topology.stateDir, "router", "venv"));
  const other = path.join(tmp, "venv", "other-bin");
  fs.mkdirSync(other);
  fs.writeFileSync(path.join(other, "vllm-router"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
  const searchPath = `${other}:/usr/local/bin:/usr/bin:/bin`;
  const router = script("venv-router", plan, renderRouterScript(plan), { env: { PATH: searchPath } });
  const r = sh(router, ["install"]);
  assert.equal(r.code, 0, r.all);
  assert.match(r.stderr, /not using .*other-bin\/vllm-router: its Python reports vllm-router 'none', not 0\.1\.17/);
  const envFile = fs.readFileSync(path.join(plan.topology.stateDir, "router", "vllm-router.env"), "utf8");
  assert.ok(envFile.startsWith(`PATH=${path.join(plan.topology.stateDir, "router", "venv", "bin")}:${searchPath}\n`), envFile);
});

test("kill -9 of an instance: its supervisor restarts it into the same log, and wait passes again", async () => {
  const victim = main.instances.find((i) => i.role === "decode" && i.instance === 1)!;
  const [before] = servingOn(victim.port);
  process.kill(before.pid, "SIGKILL");
  await until("the instance is back", () => servingOn(victim.port).some((p) => p.pid !== before.pid));
  const r = sh(node, ["wait"]);
  assert.equal(r.code, 0, r.all);
  const logs = fs.readdirSync(main.topology.logDir).filter((l) => l.endsWith(`_${victim.logName}.log`));
  assert.equal(logs.length, 1, "restarts append to the same log");
  assert.match(fs.readFileSync(path.join(main.topology.logDir, logs[0]), "utf8"), /exited with status 137; restarting in 1 s/);
});

test("stop leaves no process and no bound port, even an instance whose supervisor was killed; stopping again succeeds", () => {
  const orphan = main.instances[0];
  const supervisor = Number(fs.readFileSync(path.join(main.topology.stateDir, "pd-0", `${orphan.role}-${orphan.instance}.supervisor.pid`), "utf8"));
  process.kill(supervisor, "SIGKILL");
  // Still serving, but nothing would restart it: status says so and does not exit 0.
  const orphaned = sh(node, ["status"]);
  assert.equal(orphaned.code, 3, orphaned.all);
  assert.match(orphaned.stdout, new RegExp(`port ${orphan.port} +unsupervised +healthy`), orphaned.stdout);
  const r = sh(node, ["stop"]);
  assert.equal(r.code, 0, r.all);
  assert.deepEqual(
    main.instances.flatMap((i) => servingOn(i.port)),
    [],
  );
  assert.deepEqual(
    processes().filter((p) => p.argv.some((w) => w.startsWith(main.topology.stateDir))),
    [],
  );
  assert.deepEqual(boundOf(main), []);
  assert.equal(sh(node, ["stop"]).code, 0);
  const status = sh(node, ["status"]);
  assert.equal(status.code, 3, status.all);
  assert.equal(status.stdout.split("\n").filter((l) => / stopped +unhealthy$/.test(l)).length, 4, status.stdout);
});

test("an instance crashing at startup: wait fails fast, naming it and showing its log tail", () => {
  const plan = localPlan("crash", 21100, { decode: { instancesPerNode: 2, env: { VLLM_SIM_CRASH_AT_STARTUP: "22101" } } });
  const s = script("crash", plan, renderNodeScript(plan, "pd-0"));
  const r = sh(s, ["install", "start", "wait"]);
  assert.equal(r.code, 1, r.all);
  assert.ok(r.ms < 40_000, `failed after ${r.ms} ms, well before the 60 s timeout`);
  assert.match(r.stderr, /FAILED: pd-0 decode instance 1 \(port 22101\) is not running and is not being restarted/);
  assert.match(r.stderr, /last 30 lines of .*vllm_server_\d{8}_\d{6}_decode_1\.log:/);
  assert.match(r.stderr, /started 5 times within 60 s; giving up/);
  assert.doesNotMatch(r.stderr, /FAILED: pd-0 (prefill instance \d|decode instance 0)/);
  const stop = sh(s, ["stop"]);
  assert.equal(stop.code, 0, stop.all);
  assert.deepEqual(boundOf(plan), []);
});

/** A systemctl stand-in: template units only; `enable --now` runs ExecStart (with %i) detached, like systemd. */
const FAKE_SYSTEMCTL = `#!/usr/bin/env bash
set -euo pipefail
dir=\${FAKE_SYSTEMD_DIR:?}
printf '%s\\n' "$*" >>"$dir/calls"
template() { local u=$1; printf '/etc/systemd/system/%s@.service\\n' "\${u%%@*}"; }
instance() { local u=\${1#*@}; printf '%s\\n' "\${u%.service}"; }
main_pid() {
  local pid state
  pid=$(cat "$dir/$1.pid" 2>/dev/null) || return 1
  read -r _ _ state _ <"/proc/$pid/stat" 2>/dev/null || return 1
  [ "$state" != Z ] && printf '%s\\n' "$pid"
}
verb=$1
shift
units=()
for a in "$@"; do case $a in -*) ;; *) units+=("$a") ;; esac; done
case $verb in
  daemon-reload | reset-failed) ;;
  enable)
    for u in "\${units[@]}"; do
      if main_pid "$u" >/dev/null; then continue; fi
      file=$(template "$u")
      exec_start=$(sed -n 's/^ExecStart=//p' "$file")
      env_file=$(sed -n 's/^EnvironmentFile=-//p' "$file")
      (
        while IFS= read -r var; do unset "$var" 2>/dev/null || true; done < <(compgen -e)
        export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
        if [ -n "$env_file" ] && [ -r "$env_file" ]; then
          while IFS= read -r line; do export "\${line?}"; done <"$env_file"
        fi
        exec setsid \${exec_start//%i/$(instance "$u")} </dev/null >/dev/null 2>&1
      ) &
      printf '%s\\n' "$!" >"$dir/$u.pid"
    done
    ;;
  disable)
    for u in "\${units[@]}"; do
      if pid=$(main_pid "$u"); then
        kill -TERM -- "-$pid" 2>/dev/null || true
        while main_pid "$u" >/dev/null; do sleep 0.1; done
      fi
      rm -f "$dir/$u.pid"
    done
    ;;
  show)
    if pid=$(main_pid "\${!#}"); then state=active; else state=inactive pid=0; fi
    case $2 in ActiveState) echo "$state" ;; MainPID) echo "$pid" ;; esac
    ;;
  *) echo "fake systemctl: unsupported: $verb $*" >&2; exit 1 ;;
esac
`;

test("systemd mode (stand-in systemctl, private /etc/systemd/system): a valid unit, then start wait status stop", (t) => {
  const plan = localPlan("systemd", 21200, { hfToken: "set" });
  const fake = path.join(tmp, "systemd");
  const [bin, units, state] = ["bin", "units", "state"].map((d) => path.join(fake, d));
  for (const d of [bin, units, state]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(bin, "systemctl"), FAKE_SYSTEMCTL, { mode: 0o755 });
  const tokenFile = hfTokenFile(plan.topology.stateDir);
  fs.mkdirSync(path.dirname(tokenFile), { recursive: true, mode: 0o700 });
  fs.writeFileSync(tokenFile, `HF_TOKEN=${TOKEN}\n`, { mode: 0o600 });
  const wrap = (argv: string[]) => [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "bash",
    "-c",
    `mount --bind "$0" /etc/systemd/system && exec "$@"`,
    units,
    ...argv,
  ];
  const s = script("systemd", plan, renderNodeScript(plan, "pd-0"), {
    wrap,
    env: { GAUDI_PD_MODE: "systemd", FAKE_SYSTEMD_DIR: state, PATH: `${bin}:${process.env.PATH}` },
  });

  const r = sh(s, ["install", "start", "wait", "status"]);
  assert.equal(r.code, 0, r.all);
  assert.match(r.stdout, /systemd mode/);
  assert.equal(r.stdout.split("\n").filter((l) => / active \(pid \d+\) +healthy$/.test(l)).length, 4, r.stdout);
  const unit = path.join(units, "gaudi-pd-pd-0@.service");
  const verify = spawnSync("systemd-analyze", ["verify", `${unit.replace(/@\.service$/, "")}@decode-1.service`], { encoding: "utf8" });
  if (verify.error) t.diagnostic("systemd-analyze is not installed (apt-get install -y systemd): the unit was not verified");
  else assert.deepEqual([verify.status, verify.stderr.trim()], [0, ""], "systemd-analyze accepts the unit");
  const calls = fs.readFileSync(path.join(state, "calls"), "utf8");
  for (const i of plan.instances) assert.ok(calls.includes(`enable --now --quiet gaudi-pd-pd-0@${i.role}-${i.instance}.service\n`));
  for (const i of plan.instances) assert.equal(environ(servingOn(i.port)[0].pid).get("HF_TOKEN"), TOKEN, "EnvironmentFile carries the token");

  const stop = sh(s, ["stop"]);
  assert.equal(stop.code, 0, stop.all);
  assert.equal(fs.existsSync(unit), false, "stop removes the unit");
  assert.match(fs.readFileSync(path.join(state, "calls"), "utf8"), /^disable --now --quiet( gaudi-pd-pd-0@(prefill|decode)-[01]\.service){4}$/m);
  assert.deepEqual(boundOf(plan), []);
});
