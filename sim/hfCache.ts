// Where a hub model lives in the Hugging Face cache, as huggingface_hub lays it out and vLLM reads it offline.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The hub cache directory: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub (XDG_CACHE_HOME moves ~/.cache). */
export function hubCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  const home = env.HF_HOME || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "huggingface");
  return path.join(home, "hub");
}

/** huggingface_hub's reading of HF_HUB_OFFLINE: 1, ON, YES or TRUE in any case. */
export const isOffline = (env: NodeJS.ProcessEnv) => ["1", "ON", "YES", "TRUE"].includes((env.HF_HUB_OFFLINE ?? "").toUpperCase());

/** The snapshot directory `refs/main` points at when it holds the model's config.json, else null. */
export function cachedSnapshot(model: string, env: NodeJS.ProcessEnv): string | null {
  const repo = path.join(hubCacheDir(env), `models--${model.split("/").join("--")}`);
  try {
    const snapshot = path.join(repo, "snapshots", fs.readFileSync(path.join(repo, "refs", "main"), "utf8").trim());
    return fs.existsSync(path.join(snapshot, "config.json")) ? snapshot : null;
  } catch {
    return null;
  }
}
