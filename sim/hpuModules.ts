// Gaudi modules as the Habana runtime hands them out: HABANA_VISIBLE_MODULES limits what a process sees,
// and a module in use by a live process on the same host cannot be acquired again.
// Module locks live under VLLM_SIM_LOCK_DIR (a directory per simulation run, so concurrent runs on one machine
// never see each other; unset: no locking) and, within it, per host: VLLM_SIM_HOST_ID, else
// VLLM_NIXL_SIDE_CHANNEL_HOST. Network namespaces share the filesystem and the pid space, so a lock file holding
// the owner's pid (checked for liveness) is enough.
import * as fs from "node:fs";
import * as path from "node:path";

/** Modules per host (VLLM_SIM_HPU_COUNT, default 8 as on a Gaudi server). */
export function hpuCount(env: NodeJS.ProcessEnv): number {
  const raw = env.VLLM_SIM_HPU_COUNT ?? "8";
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`VLLM_SIM_HPU_COUNT: '${raw}' is not a positive whole number`);
  return Number(raw);
}

/** The module ids this process may use, or problems naming HABANA_VISIBLE_MODULES. */
export function visibleModules(env: NodeJS.ProcessEnv, count: number): { modules: number[]; problems: string[] } {
  const raw = env.HABANA_VISIBLE_MODULES;
  if (raw === undefined) return { modules: [...Array(count).keys()], problems: [] };
  const problems: string[] = [];
  const modules: number[] = [];
  for (const item of raw.split(",").map((s) => s.trim())) {
    if (!/^\d+$/.test(item) || Number(item) >= count) problems.push(`HABANA_VISIBLE_MODULES: '${item}' is not a module id in 0..${count - 1}`);
    else if (modules.includes(Number(item))) problems.push(`HABANA_VISIBLE_MODULES: module ${item} is listed twice`);
    else modules.push(Number(item));
  }
  return { modules, problems };
}

function lockDir(root: string, env: NodeJS.ProcessEnv): string {
  const host = env.VLLM_SIM_HOST_ID ?? env.VLLM_NIXL_SIDE_CHANNEL_HOST ?? "localhost";
  return path.join(root, host.replace(/[^\w.-]/g, "_"));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Take one module's lock for this process; returns the live holder's pid when it is taken. */
function tryLock(file: string): number | null {
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      return null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const holder = Number(fs.readFileSync(file, "utf8"));
    if (holder > 0 && alive(holder)) return holder;
    fs.rmSync(file, { force: true }); // stale: its process is gone
  }
}

/**
 * Acquire `want` modules among `candidates` (in order, like the runtime): with HABANA_VISIBLE_MODULES the first
 * `want` listed must be free; without it, the first free ones are taken. Returns the held ids and a release.
 */
export function acquireModules(env: NodeJS.ProcessEnv, candidates: readonly number[], want: number): { held: number[]; release: () => void } {
  const root = env.VLLM_SIM_LOCK_DIR;
  if (root === undefined || root === "") return { held: candidates.slice(0, want), release: () => undefined };
  const dir = lockDir(root, env);
  fs.mkdirSync(dir, { recursive: true });
  const held: number[] = [];
  const release = (): void => held.forEach((m) => fs.rmSync(path.join(dir, `module-${m}.pid`), { force: true }));
  const pinned = env.HABANA_VISIBLE_MODULES !== undefined;
  for (const m of candidates) {
    if (held.length === want) break;
    const holder = tryLock(path.join(dir, `module-${m}.pid`));
    if (holder === null) held.push(m);
    else if (pinned) {
      release();
      throw new Error(`HPU module ${m} (from HABANA_VISIBLE_MODULES) is busy: held by pid ${holder} on host ${path.basename(dir)}`);
    }
  }
  if (held.length < want) {
    release();
    throw new Error(
      `only ${held.length} of ${candidates.length} HPU modules are free on host ${path.basename(dir)}; --tensor-parallel-size needs ${want}`,
    );
  }
  return { held, release };
}
