// One set of test hosts per machine: namespaces and addresses are global, so concurrent runs take turns.
// The lock is a kernel flock held by a child `flock` process whose stdin is ours: when we release it, or
// die, the pipe closes and the lock goes with it, so a crashed run can never leave it held.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import type { Socket } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

// The lock file outlives every run, so it lives with the system's locks: a test run leaves nothing in the temp dir.
const LOCK_FILE = path.join(fs.existsSync("/run/lock") ? "/run/lock" : os.tmpdir(), "gaudi-pd-testhosts.lock");

export interface HostLock {
  /** Resolves once the lock is free for the next run. */
  release(): Promise<void>;
}

/** Take the lock, waiting up to `waitSecs` (0: fail at once); null when another run still holds it. */
export function takeHostLock(waitSecs: number): Promise<HostLock | null> {
  const wait = waitSecs > 0 ? ["-w", String(waitSecs)] : ["-n"];
  const holder = spawn("flock", [...wait, LOCK_FILE, "sh", "-c", "echo locked; exec cat >/dev/null"], { stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    holder.on("error", (e) => reject(new Error(`flock: ${e.message} (apt-get install util-linux)`)));
    holder.on("exit", () => resolve(null));
    holder.stdout.once("data", () => {
      holder.removeAllListeners("exit");
      fs.writeFileSync(LOCK_FILE, `${process.pid}\n`);
      // Held for as long as we live, but never what keeps this process alive.
      holder.unref();
      (holder.stdin as Socket).unref();
      (holder.stdout as Socket).unref();
      const gone = new Promise<void>((done) => holder.on("exit", () => done()));
      resolve({
        release: () => {
          holder.ref();
          holder.stdin.end();
          return gone;
        },
      });
    });
  });
}

/** Who last took the lock, for messages. */
export function lockHolderNote(): string {
  try {
    return `pid ${fs.readFileSync(LOCK_FILE, "utf8").trim()} per ${LOCK_FILE}`;
  } catch {
    return LOCK_FILE;
  }
}
