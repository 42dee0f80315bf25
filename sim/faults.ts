// Fault knobs from the environment, each aimed at every instance or at chosen serve ports.
//   VLLM_SIM_STARTUP_DELAY_MS=500          every instance's engine is up 500 ms after its process started, not sooner
//   VLLM_SIM_STARTUP_DELAY_MS=0,9301=3000  only the instance serving port 9301 waits (3 s)
//   VLLM_SIM_CRASH_AFTER_REQUESTS=9302=5   the instance on 9302 crashes once it has answered 5 requests
//   VLLM_SIM_CRASH_AT_STARTUP=1 | true     every instance crashes at startup
//   VLLM_SIM_CRASH_AT_STARTUP=9301[,9302]  (or 9301=1) only those ports crash at startup
//   VLLM_SIM_SKIP_KV_PULL=9301             the decode instance on 9301 answers without pulling KV (silent decode-only)

export interface Faults {
  readonly startupDelayMs: number;
  readonly crashAtStartup: boolean;
  /** Crash once this many completion requests were answered; null: never. */
  readonly crashAfterRequests: number | null;
  /** A decode instance answers prefilled requests without pulling their KV: the silent decode-only fallback. */
  readonly skipKvPull: boolean;
}

/**
 * One knob's setting for `port`: a `PORT=VALUE` entry wins over a bare `VALUE` entry (which applies to all).
 * Every entry's value is checked with `parse`, whichever port it aims at, so a typo never goes unnoticed.
 */
function settingFor<T>(
  raw: string | undefined,
  port: number,
  name: string,
  parse: (value: string) => T,
  bareIsPort: (value: string) => boolean,
): T | undefined {
  let forAll: T | undefined;
  let forPort: T | undefined;
  for (const entry of (raw ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "")) {
    const eq = entry.indexOf("=");
    if (eq < 0 && bareIsPort(entry)) {
      if (Number(entry) === port) forPort = parse("1");
      continue;
    }
    if (eq < 0) {
      forAll = parse(entry);
      continue;
    }
    const target = entry.slice(0, eq).trim();
    if (!/^\d+$/.test(target)) throw new Error(`${name}: '${target}' in '${entry}' is not a serve port`);
    const value = parse(entry.slice(eq + 1).trim());
    if (Number(target) === port) forPort = value;
  }
  return forPort ?? forAll;
}

function count(raw: string | undefined, port: number, name: string): number | undefined {
  const parse = (value: string): number => {
    if (!/^\d+$/.test(value)) throw new Error(`${name}: '${value}' is not a whole number`);
    return Number(value);
  };
  return settingFor(raw, port, name, parse, () => false);
}

function flag(raw: string | undefined, port: number, name: string): boolean {
  const parse = (value: string): boolean => {
    const v = value.toLowerCase();
    if (["1", "true", "yes", "all"].includes(v)) return true;
    if (["0", "false", "no"].includes(v)) return false;
    throw new Error(`${name}: '${value}' is neither true/1 nor false/0`);
  };
  // A bare number that can be a serve port names that port; 1/true/yes/all mean every instance.
  return settingFor(raw, port, name, parse, (v) => /^\d+$/.test(v) && Number(v) >= 1024) ?? false;
}

/** The fault knobs for the instance serving `port`; throws naming the variable when a value is malformed. */
export function faultsFor(env: NodeJS.ProcessEnv, port: number): Faults {
  const crashAfter = count(env.VLLM_SIM_CRASH_AFTER_REQUESTS, port, "VLLM_SIM_CRASH_AFTER_REQUESTS");
  return {
    startupDelayMs: count(env.VLLM_SIM_STARTUP_DELAY_MS, port, "VLLM_SIM_STARTUP_DELAY_MS") ?? 0,
    crashAtStartup: flag(env.VLLM_SIM_CRASH_AT_STARTUP, port, "VLLM_SIM_CRASH_AT_STARTUP"),
    crashAfterRequests: crashAfter === undefined || crashAfter === 0 ? null : crashAfter,
    skipKvPull: flag(env.VLLM_SIM_SKIP_KV_PULL, port, "VLLM_SIM_SKIP_KV_PULL"),
  };
}
