// The pinned vllm-router, installed on first use into the project's .venv-router by scripts/install-router.sh.
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const INSTALL_ROUTER = path.join(__dirname, "..", "scripts", "install-router.sh");

/** The vllm-router executable; throws with the script's last lines when it cannot be installed. */
export function installRouter(): string {
  const r = spawnSync("bash", [INSTALL_ROUTER], { encoding: "utf8" });
  const exe = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !exe) throw new Error(`could not install vllm-router: ${`${r.stdout}${r.stderr}`.trim().split("\n").slice(-3).join(" | ")}`);
  return exe;
}
