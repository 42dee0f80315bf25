// Child processes run to completion: optional stdin, extra environment and a hard timeout, output captured.
// Never rejects, so callers decide what a failure means.
import { spawn } from "node:child_process";

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr interleaved as they arrived, for showing a script's own account of what it did. */
  readonly output: string;
}

export interface RunOptions {
  readonly stdin?: string;
  /** Added to this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) after this long; the result then has code 124 and says so in stderr. */
  readonly timeoutMs?: number;
  /** Runs it in a session and process group of its own: a terminal's Ctrl-C then reaches only the caller, which decides what stops when. */
  readonly ownGroup?: boolean;
  /** With ownGroup: aborting sends SIGTERM to that whole group, the program and whatever it started there. */
  readonly abort?: AbortSignal;
}

/** A program that cannot start yields code 127 with the reason in stderr. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...opts.env }, detached: opts.ownGroup });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // The group is gone already.
      }
    };
    if (opts.ownGroup && opts.abort && child.pid !== undefined) {
      if (opts.abort.aborted) killGroup();
      else opts.abort.addEventListener("abort", killGroup, { once: true });
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const both: Buffer[] = [];
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill("SIGKILL");
        }, opts.timeoutMs)
      : undefined;
    child.stdout.on("data", (b: Buffer) => (out.push(b), both.push(b)));
    child.stderr.on("data", (b: Buffer) => (err.push(b), both.push(b)));
    // The program may exit without reading stdin; that is its business, not an error here.
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.stdin ?? "");
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout: "", stderr: `${cmd}: ${e.message}`, output: `${cmd}: ${e.message}` });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      opts.abort?.removeEventListener("abort", killGroup);
      const note = timedOut ? `\n[${cmd} killed after ${opts.timeoutMs} ms]` : signal ? `\n[${cmd} killed by ${signal}]` : "";
      resolve({
        code: timedOut ? 124 : (code ?? 128),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString() + note,
        output: Buffer.concat(both).toString() + note,
      });
    });
  });
}

/** Like run, but a nonzero exit is an error carrying the command and its output. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}
