// Ports for tests, always outside the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range): every
// outgoing connection on the machine takes its local port from that range, so a server a test starts inside it can
// find its port taken ("Address already in use") by a connection it never saw.
import * as fs from "node:fs";
import * as net from "node:net";
import { listening } from "./listening";

const RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range";
/** Tests stay above the well-known and registered ports most services use. */
const FLOOR = 10000;
const TOP = 65535;

export interface PortRange {
  readonly low: number;
  readonly high: number;
}

/** The kernel's ephemeral range, from the text of ip_local_port_range ("32768\t60999"). */
export function parseRange(text: string): PortRange {
  const [low, high] = text.trim().split(/\s+/).map(Number);
  if (!Number.isInteger(low) || !Number.isInteger(high) || low > high) throw new Error(`${RANGE_FILE}: cannot read "${text.trim()}"`);
  return { low, high };
}

/** This machine's ephemeral range (Linux's default when the file is missing). */
export function ephemeralRange(): PortRange {
  return fs.existsSync(RANGE_FILE) ? parseRange(fs.readFileSync(RANGE_FILE, "utf8")) : { low: 32768, high: 60999 };
}

/** The stretches of ports tests may use: from FLOOR up to the range, and above it. */
export function windowsOutside(range: PortRange): PortRange[] {
  return [
    { low: FLOOR, high: range.low - 1 },
    { low: range.high + 1, high: TOP },
  ].filter((w) => w.low <= w.high);
}

/** A random base such that base .. base+span-1 all lie outside `range`; `random` in [0, 1). */
export function blockOutside(range: PortRange, span: number, random: () => number = Math.random): number {
  const fits = windowsOutside(range).filter((w) => w.high - w.low + 1 >= span);
  const room = fits.reduce((n, w) => n + (w.high - w.low + 2 - span), 0);
  if (!room) throw new Error(`no ${span} consecutive ports outside the ephemeral range ${range.low}-${range.high} (${RANGE_FILE})`);
  let pick = Math.floor(random() * room);
  for (const w of fits) {
    const starts = w.high - w.low + 2 - span;
    if (pick < starts) return w.low + pick;
    pick -= starts;
  }
  throw new Error("unreachable: pick exceeds room");
}

/** A base for `span` consecutive ports outside the ephemeral range, none of them listening right now. */
export function portBlock(span: number): number {
  const range = ephemeralRange();
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = blockOutside(range, span);
    const held = listening();
    if (![...held].some((p) => p >= base && p < base + span)) return base;
  }
  throw new Error(`no free block of ${span} ports outside the ephemeral range after 100 tries`);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "0.0.0.0", () => server.close(() => resolve(true)));
  });
}

/** Bases of blocks of `spans[k]` consecutive ports, outside the ephemeral range, not overlapping, every port free now. */
export async function freeBlocks(spans: readonly number[]): Promise<number[]> {
  const range = ephemeralRange();
  const taken: PortRange[] = [];
  for (const span of spans) {
    for (;;) {
      const low = blockOutside(range, span);
      const block = { low, high: low + span - 1 };
      if (taken.some((t) => t.low <= block.high && block.low <= t.high)) continue;
      const ports = Array.from({ length: span }, (_, k) => low + k);
      if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) {
        taken.push(block);
        break;
      }
    }
  }
  return taken.map((t) => t.low);
}

/** `count` distinct ports outside the ephemeral range, each free now, drawn at random (so parallel runs rarely meet). */
export const freePorts = (count: number): Promise<number[]> => freeBlocks(Array.from({ length: count }, () => 1));
