// Runs the real `gaudi-pd` executable, as a user would, and captures what it printed.
import { spawnSync } from "node:child_process";
import * as path from "node:path";

export const REPO = path.resolve(__dirname, "..", "..");
export const CLI = path.join(REPO, "cli", "gaudi-pd.js");

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI; after `timeoutMs` it is sent SIGTERM and the result says so (output after that is lost). */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO, encoding: "utf8", env: { ...process.env, ...env }, timeout: timeoutMs });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT";
  return { code: timedOut ? null : r.status, stdout: r.stdout, stderr: timedOut ? `${r.stderr}\nrunCli: timed out after ${timeoutMs} ms` : r.stderr };
}
