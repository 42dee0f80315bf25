// The pinned vllm-router, installed on first use into the project's .venv-router by scripts/install-router.sh.
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const INSTALL_ROUTER = path.join(__dirname, "..", "scripts", "install-router.sh");

/** The vllm-router executable. The script's progress lines reach stderr as they come (a first install is ~20 s of silence otherwise). */
export function installRouter(): string {
  const r = spawnSync("bash", [INSTALL_ROUTER], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const exe = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !exe) throw new Error(`could not install vllm-router (exit ${r.status}; its messages are above)`);
  return exe;
}
