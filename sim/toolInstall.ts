// The pinned Python tools simulate runs, each installed on first use into a project virtualenv by its script:
// vllm-router (.venv-router, scripts/install-router.sh) and huggingface_hub's hf (.venv-hf, scripts/install-hf.sh).
import { spawnSync } from "node:child_process";
import * as path from "node:path";

/** The tool's executable. The script's progress lines reach stderr as they come (a first install is ~20 s of silence otherwise). */
function install(script: string, what: string): string {
  const r = spawnSync("bash", [path.join(__dirname, "..", "scripts", script)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const exe = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !exe) throw new Error(`could not install ${what} (exit ${r.status}; its messages are above)`);
  return exe;
}

export const installRouter = () => install("install-router.sh", "vllm-router");
export const installHf = () => install("install-hf.sh", "huggingface_hub's hf");
