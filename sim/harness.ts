// Running stand-ins and the real vllm-router as child processes on 127.0.0.1, for tests: health waits,
// output capture, and one place that stops everything that was started.
import { type ChildProcess, spawn } from "node:child_process";
import * as os from "node:os";
import { httpStatus } from "./completionClient";
import { STAND_IN } from "./standIn";

export interface Proc {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

const running = new Set<Proc>();

/** Start a process with its output captured (in the temp dir: nothing may depend on the cwd); stopAll() stops it. */
export function startProcess(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(command, args, { cwd: os.tmpdir(), env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const proc: Proc = { child, output: () => out, exited };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/** SIGTERM every process still running (SIGKILL after 2 s) and wait for them. */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map(async (p) => {
      p.child.kill("SIGTERM");
      const timer = setTimeout(() => p.child.kill("SIGKILL"), 2000);
      await p.exited;
      clearTimeout(timer);
    }),
  );
}

/** Start `vllm serve MODEL ...args` (the stand-in). */
export function startStandIn(model: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Proc {
  return startProcess(STAND_IN, ["serve", model, ...args], env);
}

/** Wait until GET url answers 200; fails with the process output when `proc` exits first or time runs out. */
export async function waitHealthy(url: string, proc: Proc | null, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void proc?.exited.then((code) => (exitCode = code));
  while (Date.now() < deadline) {
    if ((await httpStatus(url)) === 200) return;
    if (exitCode !== undefined) throw new Error(`exited with ${exitCode} before ${url} was healthy:\n${proc?.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} not healthy after ${timeoutMs} ms${proc ? `:\n${proc.output()}` : ""}`);
}

/** Wait until the process output matches `pattern`. */
export async function waitForOutput(proc: Proc, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(proc.output())) {
    if (Date.now() > deadline) throw new Error(`no output matching ${pattern} after ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RouterOptions {
  readonly port: number;
  /** vllm-router also binds a Prometheus port (default 29000); two routers on one host need different ones. */
  readonly prometheusPort: number;
  readonly prefill: readonly string[];
  readonly decode: readonly string[];
  readonly extraArgs?: readonly string[];
}

/** Start the real vllm-router in P/D mode; a failed first health check costs only 1 s instead of 30. */
export function startRouter(executable: string, options: RouterOptions): Proc {
  return startProcess(executable, [
    "--vllm-pd-disaggregation",
    ...options.prefill.flatMap((url) => ["--prefill", url]),
    ...options.decode.flatMap((url) => ["--decode", url]),
    "--host",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--prometheus-port",
    String(options.prometheusPort),
    "--worker-startup-check-interval",
    "1",
    ...(options.extraArgs ?? []),
  ]);
}
