// Which planned ports something still listens on in this network namespace (read from /proc, no tools needed).
import * as fs from "node:fs";
import { ClusterPlan, listenersOf } from "../../components/plan";

/** TCP ports in LISTEN state in this network namespace. */
export function listening(): Set<number> {
  const ports = new Set<number>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!fs.existsSync(f)) continue;
    for (const line of fs.readFileSync(f, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === "0A") ports.add(parseInt(cols[1].split(":").pop()!, 16));
    }
  }
  return ports;
}

/** The plan's ports that are bound right now. */
export function boundOf(plan: ClusterPlan): number[] {
  const held = listening();
  return listenersOf(plan)
    .map((l) => l.port)
    .filter((p) => held.has(p));
}
