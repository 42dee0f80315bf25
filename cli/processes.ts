// Child processes for the CLI: run to completion, capture output, never reject.
import { spawn } from "node:child_process";

export interface Finished {
  readonly code: number;
  /** stdout and stderr interleaved as they arrived. */
  readonly output: string;
}

/** Run a command with extra environment; a program that cannot start yields code 127. */
export function runProcess(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => chunks.push(b));
    child.stderr.on("data", (b: Buffer) => chunks.push(b));
    child.on("error", (e) => resolve({ code: 127, output: `${cmd}: ${e.message}` }));
    child.on("close", (code, signal) => resolve({ code: code ?? 128, output: Buffer.concat(chunks).toString() + (signal ? `\n[${cmd} killed by ${signal}]` : "") }));
  });
}
