// A whole stack on this machine: every node's rendered script run locally with the vLLM stand-in,
// the real vllm-router in front, requests through it, and everything stopped afterwards.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEDICATED_ROUTER_NODE, ROUTER_UNIT } from "../components/names";
import { ClusterPlan, listenersOf, planCluster, portProblems } from "../components/plan";
import { renderNodeScript } from "../components/render/nodeScript";
import { renderRouterScript } from "../components/render/routerScript";
import { renderVerifyScript } from "../components/render/verifyScript";
import { Topology } from "../components/topology";
import { CliError } from "./errors";
import { run, RunOptions } from "./processes";
import { installHf, installRouter } from "../sim/toolInstall";
import { StandInHub, startHub, tinyModelRepo } from "../sim/hfHub";
import { RequestOutcome, sendRequests } from "./requests";
import { httpStatus } from "../sim/completionClient";
import { STAND_IN } from "../sim/standIn";
import { sampleSum } from "../sim/prometheusText";

/** Every node of a simulated cluster shares this address; the 8-port node stride keeps their ports apart. */
export const SIM_ADDRESS = "127.0.0.1";

export interface SimulationOptions {
  readonly stack: string;
  readonly topology: Topology;
  readonly requests: number;
  /** How long each node may take to become healthy. */
  readonly timeoutSecs: number;
  /** Progress lines while the cluster starts and serves. */
  readonly progress: (line: string) => void;
  /** Changes the plan before it is rendered: tests use it to break the wiring on purpose. */
  readonly tamper?: (plan: ClusterPlan) => ClusterPlan;
  /** Where the run's work directory (scripts, state, logs) is made; the system temp dir by default. */
  readonly workRoot?: string;
}

export interface SimulationResult {
  readonly requests: number;
  readonly ok: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly startupMs: number;
  /** KV transfers the decode instances counted (vllm:nixl_bytes_transferred_count), the verify step's included. */
  readonly kvTransfers: number;
  /** Per node, how often the stand-in hub served each model file to it (empty for a model given as a local path). */
  readonly modelFetches: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** One line per failed request or verify finding, saying why. */
  readonly failures: readonly string[];
  /** Where the logs were kept (only when something failed). */
  readonly logsKept: string | null;
}

/** The scripts of one simulation: each node (and the router) gets its own state, log and Hugging Face cache directories. */
interface Script {
  readonly name: string;
  readonly file: string;
  /** Added to the environment its verbs run with. */
  readonly env?: NodeJS.ProcessEnv;
}

/** A node's view of the topology: its own directories, and the stand-in told which machine it is on so it guards that machine's HPU modules. */
function simTopology(topology: Topology, workDir: string, name: string): Topology {
  const env = (r: Topology["prefill"]) => ({ ...r, env: { ...r.env, VLLM_SIM_HOST_ID: name, VLLM_SIM_LOCK_DIR: path.join(workDir, "hpu-locks") } });
  return {
    ...topology,
    vllmCommand: STAND_IN,
    stateDir: path.join(workDir, name, "state"),
    logDir: path.join(workDir, name, "log"),
    hfCacheDir: path.join(workDir, name, "hf"),
    prefill: env(topology.prefill),
    decode: env(topology.decode),
  };
}

function addressesOf(topology: Topology): Record<string, string> {
  const plan = planCluster(topology);
  return Object.fromEntries([...plan.nodes.map((n) => [n.name, SIM_ADDRESS]), [DEDICATED_ROUTER_NODE, SIM_ADDRESS]]);
}

/** Refuse a topology whose nodes cannot share one machine, before anything starts. */
export function sharedHostProblems(topology: Topology): string[] {
  const plan = planCluster(topology);
  return portProblems(
    listenersOf(plan, () => SIM_ADDRESS),
    plan,
  ).map((p) => `simulate: ${p.message} when every node shares this machine`);
}

function writeScripts(options: SimulationOptions, workDir: string): { nodes: Script[]; router: Script } {
  const addresses = addressesOf(options.topology);
  const tamper = options.tamper ?? ((p: ClusterPlan) => p);
  const planFor = (name: string) => tamper(planCluster(simTopology(options.topology, workDir, name), { addresses }));
  const write = (name: string, text: string): Script => {
    const file = path.join(workDir, `${name}.sh`);
    fs.writeFileSync(file, text, { mode: 0o700 });
    return { name, file };
  };
  const nodes = planCluster(options.topology).nodes.map((n) => write(n.name, renderNodeScript(planFor(n.name), n.name)));
  return { nodes, router: write(ROUTER_UNIT, renderRouterScript(planFor(ROUTER_UNIT))) };
}

function routerPath(): string {
  try {
    return installRouter();
  } catch (e) {
    throw new CliError([`simulate: ${(e as Error).message}`], 1);
  }
}

/** Run `verbs` of every script at once; on failure, the failing scripts' own words name the instance and its log tail. */
async function runAll(scripts: readonly Script[], verbs: readonly string[], opts: RunOptions): Promise<void> {
  const results = await Promise.all(
    scripts.map(async (s) => ({ s, r: await run("bash", [s.file, ...verbs], { ...opts, env: { ...opts.env, ...s.env } }) })),
  );
  const failed = results.filter(({ r }) => r.code !== 0);
  if (failed.length)
    throw new CliError(
      failed.flatMap(({ s, r }) => [
        `simulate: ${s.name}: '${verbs.join(" ")}' failed (exit ${r.code}):`,
        ...r.output
          .trimEnd()
          .split("\n")
          .map((l) => `  ${l}`),
      ]),
      1,
    );
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : 0;
}

interface Verified {
  /** The verify script's findings, one line each; empty when it passed. */
  readonly findings: readonly string[];
  readonly kvTransfers: number;
}

/** A stand-in hub serving a tiny repository for a hub model (none for a local path), and `hf` on the nodes' PATH. */
async function modelHub(topology: Topology): Promise<{ hub: StandInHub | null; path: string }> {
  if (topology.model.startsWith("/")) return { hub: null, path: "" };
  let hf: string;
  try {
    hf = installHf();
  } catch (e) {
    throw new CliError([`simulate: ${(e as Error).message}`], 1);
  }
  return { hub: await startHub([tinyModelRepo(topology.model)]), path: `${path.dirname(hf)}:` };
}

function summarize(
  outcomes: readonly RequestOutcome[],
  startupMs: number,
  verified: Verified,
  modelFetches: SimulationResult["modelFetches"],
  logsKept: string | null,
): SimulationResult {
  const latencies = outcomes
    .filter((o) => o.error === null)
    .map((o) => o.ms)
    .sort((a, b) => a - b);
  const failed = outcomes.filter((o) => o.error !== null).map((o) => `request ${o.index} (${o.kind}): ${o.error}`);
  return {
    requests: outcomes.length,
    ok: latencies.length,
    failed: failed.length,
    p50Ms: Math.round(percentile(latencies, 0.5)),
    p99Ms: Math.round(percentile(latencies, 0.99)),
    startupMs: Math.round(startupMs),
    kvTransfers: verified.kvTransfers,
    modelFetches,
    failures: [...failed, ...verified.findings],
    logsKept,
  };
}

/** The transfers every decode instance counted so far (a fresh cluster's since it started). */
async function kvTransfersOf(plan: ClusterPlan): Promise<number> {
  const counts = await Promise.all(
    plan.router.decodeUrls.map(async (url) => {
      try {
        return (
          sampleSum(await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text(), "vllm:nixl_bytes_transferred_count") ?? 0
        );
      } catch {
        return 0;
      }
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** The deployment's own last step, run as it runs on the router host: the verify script, its findings one line each. */
async function verify(plan: ClusterPlan, workDir: string, opts: RunOptions): Promise<Verified> {
  const findings: string[] = [];
  if (plan.topology.verify.enabled) {
    const file = path.join(workDir, "verify.sh");
    fs.writeFileSync(file, renderVerifyScript(plan), { mode: 0o700 });
    const r = await run("bash", [file], opts);
    if (r.code !== 0) findings.push(...(r.stderr.trim() ? r.stderr.trim().split("\n") : [`verify: exit ${r.code}`]));
  }
  return { findings, kvTransfers: await kvTransfersOf(plan) };
}

const PROGRESS_EVERY_MS = 2000;

const healthy = async (port: number) => (await httpStatus(`http://${SIM_ADDRESS}:${port}/health`, 1000)) === 200;

/** While `work` runs, say every few seconds how many instances answer /health (when that count changes). */
async function whileReporting(work: Promise<void>, plan: ClusterPlan, started: number, progress: (line: string) => void): Promise<void> {
  let done = false;
  let last = -1;
  const report = async () => {
    while (!done) {
      await new Promise((r) => setTimeout(r, PROGRESS_EVERY_MS));
      if (done) return;
      const up = (await Promise.all(plan.instances.map((i) => healthy(i.port)))).filter(Boolean).length;
      if (up !== last && !done)
        progress(`simulate: ${up}/${plan.instances.length} instances healthy after ${Math.round((performance.now() - started) / 1000)} s`);
      last = up;
    }
  };
  const reporter = report();
  try {
    await work;
  } finally {
    done = true;
    await reporter;
  }
}

/** Signals on which a simulation stops everything it started, then exits 128 + the signal's number as shells report a death by it. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** Output piped into a reader that has gone (`| head`): Node ignores SIGPIPE, so the write fails with EPIPE; exit as a death by SIGPIPE. */
export const EPIPE_EXIT = 128 + os.constants.signals.SIGPIPE;

/** Start, exercise and stop the cluster. Stops everything it started, also on failure, Ctrl-C, a closed terminal or a closed pipe. */
export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const problems = sharedHostProblems(options.topology);
  if (problems.length) throw new CliError(problems);
  const routerExe = routerPath();
  const workDir = fs.mkdtempSync(path.join(options.workRoot ?? os.tmpdir(), `gaudi-pd-sim-${options.stack}-`));
  const written = writeScripts(options, workDir);
  // The scripts' own temp files (a wait cut short leaves its probe dir) go with the work dir.
  fs.mkdirSync(path.join(workDir, "tmp"));
  // Started last before the try below, whose finally closes it.
  const { hub, path: hfPath } = await modelHub(options.topology);
  const router = written.router;
  // Each node fetches from the hub under its own name, so the hub counts its fetches apart.
  const nodes = written.nodes.map((s) => (hub ? { ...s, env: { HF_ENDPOINT: hub.urlFor(s.name), HF_HUB_DISABLE_TELEMETRY: "1" } } : s));
  const env = {
    PATH: `${hfPath}${path.dirname(routerExe)}:${process.env.PATH}`,
    GAUDI_PD_WAIT_TIMEOUT: String(options.timeoutSecs),
    TMPDIR: path.join(workDir, "tmp"),
  };
  // Every script runs in a group of its own: a Ctrl-C reaches only us, so no start dies halfway with a supervisor
  // about to appear that stop cannot know of. Waits and the verify step only look, so an interruption cuts them short.
  const scriptOptions: RunOptions = { env, ownGroup: true };
  const cutShort = new AbortController();
  const lookOptions: RunOptions = { ...scriptOptions, abort: cutShort.signal };
  const all = [...nodes, router];
  // Once the output has gone (EPIPE, a hung-up terminal's EIO), no more lines: writing them would only fail again.
  let outputGone = false;
  const say = (line: string) => {
    if (!outputGone) options.progress(line);
  };
  // The scripts' verbs under way: a stop racing a start would wait for ports the start is still binding.
  let inFlight: Promise<unknown> = Promise.resolve();
  let exiting: Promise<never> | null = null;
  /** Once interrupted nothing new starts: the teardown under way ends the process. */
  const goOn = () => {
    if (exiting) throw new CliError(["simulate: interrupted"], 1);
  };
  /** Runs the next verbs of `scripts`, unless interrupted. */
  const step = (scripts: readonly Script[], verbs: readonly string[], opts = scriptOptions): Promise<void> => {
    goOn();
    const work = runAll(scripts, verbs, opts);
    inFlight = work.catch(() => undefined);
    return work;
  };
  let stopping: Promise<boolean> | null = null;
  /** Stops every script once the verbs under way have ended; false (and says why) when one could not stop. */
  const stopAll = () =>
    (stopping ??= inFlight
      .then(() => runAll(all, ["stop"], scriptOptions))
      .then(
        () => true,
        (e: CliError) => (say(e.problems.join("\n")), false),
      ));
  // Interrupted: stop everything, remove the work dir unless something could not be stopped, and exit with `code`.
  const interrupt = (code: number, why: string) => {
    if (exiting) return;
    say(`simulate: ${why}, stopping everything`);
    exiting = stopAll().then((stopped) => {
      if (stopped) fs.rmSync(workDir, { recursive: true, force: true });
      else say(`simulate: logs kept in ${workDir}`);
      return process.exit(code);
    });
    cutShort.abort();
  };
  const onSignal = (signal: NodeJS.Signals) => interrupt(128 + os.constants.signals[signal], signal);
  const onOutputError = (e: NodeJS.ErrnoException) => {
    outputGone = true;
    if (e.code === "EPIPE") interrupt(EPIPE_EXIT, "output closed (EPIPE)");
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  for (const out of [process.stdout, process.stderr]) out.on("error", onOutputError);
  let ok = false;
  try {
    const started = performance.now();
    const plan = planCluster(options.topology, { addresses: addressesOf(options.topology) });
    say(`simulate: starting ${plan.instances.length} instance(s) on ${nodes.length} node(s), stand-in ${STAND_IN}`);
    await step(nodes, ["install", "start"]);
    await whileReporting(step(nodes, ["wait"], lookOptions), plan, started, say);
    say(`simulate: all instances healthy after ${Math.round((performance.now() - started) / 1000)} s; starting vllm-router`);
    await step([router], ["install", "start"]);
    await step([router], ["wait"], lookOptions);
    const startupMs = performance.now() - started;
    say(`simulate: router ready at http://${SIM_ADDRESS}:${plan.router.port}; sending ${options.requests} request(s)`);
    goOn();
    const outcomes = await sendRequests(plan, `http://${SIM_ADDRESS}:${plan.router.port}`, options.requests, say);
    if (plan.topology.verify.enabled) say("simulate: verifying every prefill → decode KV path (the deployment's last step)");
    goOn();
    const verified = await verify(plan, workDir, lookOptions);
    ok = outcomes.every((o) => o.error === null) && verified.findings.length === 0;
    const modelFetches = Object.fromEntries(nodes.map((s) => [s.name, hub?.fetches(s.name) ?? {}]));
    return summarize(outcomes, startupMs, verified, modelFetches, ok ? null : workDir);
  } finally {
    await stopAll();
    // Interrupted meanwhile: that teardown ends the process, and nothing here may print or remove anything first.
    if (exiting) await exiting;
    await hub?.close();
    for (const s of STOP_SIGNALS) process.removeListener(s, onSignal);
    for (const out of [process.stdout, process.stderr]) out.removeListener("error", onOutputError);
    if (ok) fs.rmSync(workDir, { recursive: true, force: true });
    else say(`simulate: logs kept in ${workDir}`);
  }
}
