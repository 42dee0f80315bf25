// Data-parallel rendezvous, after vLLM's external-LB DP: rank 0 listens on --data-parallel-address:--data-parallel-rpc-port,
// every other rank connects there and says (rank, size, model). Rank 0 admits each of 1..size-1 exactly once and, when all
// are in, tells everyone "ready". A duplicate rank, a size or a model mismatch fails the whole group.
// Protocol: one JSON object per line. member -> master {rank, size, model}; master -> member
// {type: "joined", joined, size, missing} | {type: "ready"} | {type: "error", message}.
import * as net from "node:net";
import { log } from "./log";
import type { DpConfig } from "./serveConfig";

export interface DpGroup {
  close(): void;
}

interface Options {
  readonly model: string;
  readonly timeoutMs: number;
  /** Progress is logged this often while waiting. */
  readonly progressMs: number;
  /** Called when the group breaks after it was complete (a rank or the master went away). */
  readonly onLost: (reason: string) => void;
}

type Message = { type: "joined"; joined: number; size: number; missing: number[] } | { type: "ready" } | { type: "error"; message: string };

const WHERE = "dp_group";

function send(socket: net.Socket, message: object): void {
  socket.write(`${JSON.stringify(message)}\n`);
}

/** Call `onLine` for each newline-terminated line received on `socket`. */
function onLines(socket: net.Socket, onLine: (line: string) => void): void {
  let buffered = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      onLine(line);
    }
  });
}

function missingRanks(size: number, joined: ReadonlyMap<number, net.Socket>): number[] {
  return [...Array(size).keys()].filter((r) => r !== 0 && !joined.has(r));
}

function runMaster(dp: DpConfig, options: Options): Promise<DpGroup> {
  return new Promise((resolve, reject) => {
    const members = new Map<number, net.Socket>();
    const server = net.createServer();
    let ready = false;
    let failed = false;
    const endpoint = `${dp.address}:${dp.rpcPort}`;
    const status = (): string => `DP group ${members.size + 1}/${dp.size} joined, missing ranks ${missingRanks(dp.size, members).join(",")}`;
    const close = (): void => {
      clearInterval(progress);
      clearTimeout(timeout);
      server.close();
      members.forEach((s) => s.end());
    };
    /** Fail the whole group: every member, and the connection that broke it, hears why. */
    const fail = (message: string, offender?: net.Socket): void => {
      if (failed) return;
      failed = true;
      log("ERROR", WHERE, `DP group failed: ${message}`);
      new Set([...members.values(), ...(offender ? [offender] : [])]).forEach((s) => send(s, { type: "error", message }));
      offender?.end();
      close();
      if (ready) options.onLost(message);
      else reject(new Error(message));
    };
    const progress = setInterval(() => log("INFO", WHERE, `${status()} (DP master listening on ${endpoint})`), options.progressMs);
    const timeout = setTimeout(() => fail(`timed out after ${Math.round(options.timeoutMs / 1000)} s: ${status()}`), options.timeoutMs);
    server.on("connection", (socket) => {
      let rank: number | null = null;
      socket.on("error", () => undefined);
      socket.on("close", () => {
        if (rank === null || members.get(rank) !== socket || failed) return;
        members.delete(rank);
        if (ready) fail(`DP rank ${rank} disconnected`);
        else log("WARNING", WHERE, `DP rank ${rank} disconnected before the group was complete; ${status()}`);
      });
      onLines(socket, (line) => {
        let join: { rank?: unknown; size?: unknown; model?: unknown };
        try {
          join = JSON.parse(line) as typeof join;
        } catch {
          socket.destroy();
          return;
        }
        const from = `${socket.remoteAddress}:${socket.remotePort}`;
        if (join.size !== dp.size)
          return fail(
            `DP size mismatch: rank ${String(join.rank)} (${from}) has --data-parallel-size ${String(join.size)}, the master has ${dp.size}`,
            socket,
          );
        if (join.model !== options.model)
          return fail(
            `model mismatch: rank ${String(join.rank)} (${from}) serves '${String(join.model)}', the master serves '${options.model}'`,
            socket,
          );
        if (typeof join.rank !== "number" || !Number.isInteger(join.rank) || join.rank < 0 || join.rank >= dp.size) {
          return fail(`rank ${String(join.rank)} (${from}) is not in 0..${dp.size - 1}`, socket);
        }
        if (join.rank === 0 || members.has(join.rank) || ready) return fail(`duplicate DP rank ${join.rank} (again from ${from})`, socket);
        rank = join.rank;
        members.set(rank, socket);
        log("INFO", WHERE, `DP rank ${rank} joined from ${from}; ${status()}`);
        const missing = missingRanks(dp.size, members);
        members.forEach((s) => send(s, { type: "joined", joined: members.size + 1, size: dp.size, missing }));
        if (missing.length > 0) return;
        ready = true;
        clearInterval(progress);
        clearTimeout(timeout);
        members.forEach((s) => send(s, { type: "ready" }));
        log("INFO", WHERE, `DP group complete: all ${dp.size} ranks joined`);
        resolve({ close });
      });
    });
    server.on("error", (e: NodeJS.ErrnoException) => {
      clearInterval(progress);
      clearTimeout(timeout);
      reject(new Error(`DP master (rank 0) cannot listen on ${endpoint}: ${e.code ?? e.message}`));
    });
    server.listen(dp.rpcPort, dp.address, () => log("INFO", WHERE, `DP master (rank 0 of ${dp.size}) listening on ${endpoint}`));
  });
}

function runMember(dp: DpConfig, options: Options): Promise<DpGroup> {
  return new Promise((resolve, reject) => {
    const endpoint = `${dp.address}:${dp.rpcPort}`;
    let waitingFor = `waiting for DP master ${endpoint} (not tried yet)`;
    let socket: net.Socket | null = null;
    let retry: NodeJS.Timeout | undefined;
    let settled = false;
    const stop = (): void => {
      clearInterval(progress);
      clearTimeout(timeout);
      clearTimeout(retry);
    };
    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      stop();
      if (error) {
        socket?.destroy();
        reject(error);
      } else resolve({ close: () => socket?.destroy() });
    };
    const progress = setInterval(() => log("INFO", WHERE, `DP rank ${dp.rank}: ${waitingFor}`), options.progressMs);
    const timeout = setTimeout(() => finish(new Error(`timed out after ${Math.round(options.timeoutMs / 1000)} s ${waitingFor}`)), options.timeoutMs);
    const connect = (): void => {
      const s = net.connect(dp.rpcPort, dp.address);
      socket = s;
      let answered = false;
      let isReady = false;
      // Until connected: a silent network; once connected: a listener that is not a DP master.
      let noAnswer = setTimeout(() => {
        waitingFor = `waiting for DP master ${endpoint} (connection timed out)`;
        s.destroy();
      }, 5000);
      s.on("connect", () => {
        clearTimeout(noAnswer);
        noAnswer = setTimeout(() => {
          waitingFor = `waiting for DP master ${endpoint} (something listens there but does not answer as a DP master)`;
          s.destroy();
        }, 5000);
        send(s, { rank: dp.rank, size: dp.size, model: options.model });
      });
      s.on("error", (e: NodeJS.ErrnoException) => {
        if (!answered) waitingFor = `waiting for DP master ${endpoint} (${e.code === "ECONNREFUSED" ? "connection refused" : (e.code ?? e.message)})`;
      });
      s.on("close", () => {
        clearTimeout(noAnswer);
        if (settled && isReady) options.onLost(`DP master ${endpoint} connection lost`);
        if (settled) return;
        if (answered) waitingFor = `waiting for DP master ${endpoint} (it closed the connection before the group was complete)`;
        retry = setTimeout(connect, 500);
      });
      onLines(s, (line) => {
        let message: Message;
        try {
          message = JSON.parse(line) as Message;
        } catch {
          return;
        }
        answered = true;
        clearTimeout(noAnswer);
        if (message.type === "joined")
          waitingFor = `joined DP master ${endpoint}; DP group ${message.joined}/${message.size} joined, missing ranks ${message.missing.join(",")}`;
        else if (message.type === "error" && isReady) options.onLost(`DP master ${endpoint}: ${message.message}`);
        else if (message.type === "error") finish(new Error(`DP master ${endpoint} refused the group: ${message.message}`));
        else {
          isReady = true;
          log("INFO", WHERE, `DP rank ${dp.rank}: DP group complete (master ${endpoint})`);
          finish(null);
        }
      });
    };
    connect();
  });
}

/** Join (rank > 0) or gather (rank 0) the DP group; resolves once all ranks are in, rejects with a clear reason. */
export function joinDpGroup(dp: DpConfig, options: Options): Promise<DpGroup> {
  return dp.rank === 0 ? runMaster(dp, options) : runMember(dp, options);
}
