// The NIXL side channel: every instance with a kv connector listens on (VLLM_NIXL_SIDE_CHANNEL_HOST, bound port), as vLLM's
// handshake listener does on both roles. A producer keeps the "KV blocks" of each prefilled request (until read, or for
// VLLM_NIXL_ABORT_REQUEST_TIMEOUT seconds) and hands them to the decode instance that dials it with the right engine id.
// Protocol: one JSON line each way. reader -> {engine_id, request_id, block_ids, reader};
// listener -> {ok: true, instance} | {ok: false, error}.
import * as net from "node:net";
import type { InstanceId, KvRole } from "./serveConfig";

/** Blocks of prefilled requests waiting for their decode instance to read them. */
export class PrefilledBlocks {
  private readonly pending = new Map<string, { blockIds: readonly number[]; expires: number }>();
  private nextBlock = 1;

  constructor(private readonly ttlMs: number) {}

  /** Allocate and keep blocks for a prefilled request of `tokens` prompt tokens (16 tokens per block). */
  keep(requestId: string, tokens: number): number[] {
    const blockIds = Array.from({ length: Math.max(1, Math.ceil(tokens / 16)) }, () => this.nextBlock++);
    this.pending.set(requestId, { blockIds, expires: Date.now() + this.ttlMs });
    return blockIds;
  }

  /** Release a request's blocks to a reader; a reason when they are not here. */
  release(requestId: string, blockIds: unknown): string | null {
    const now = Date.now();
    for (const [id, p] of this.pending) if (p.expires < now) this.pending.delete(id);
    const held = this.pending.get(requestId);
    if (!held) return `no KV blocks for request ${requestId} (never prefilled here, already read, or expired)`;
    if (JSON.stringify(held.blockIds) !== JSON.stringify(blockIds))
      return `block ids ${JSON.stringify(blockIds)} do not match the ${held.blockIds.length} blocks of request ${requestId}`;
    this.pending.delete(requestId);
    return null;
  }
}

interface ListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly engineId: string;
  readonly role: KvRole;
  readonly self: InstanceId;
  /** Null on a pure consumer: it serves no blocks. */
  readonly blocks: PrefilledBlocks | null;
}

function answer(request: { engine_id?: unknown; request_id?: unknown; block_ids?: unknown }, options: ListenerOptions): object {
  if (options.blocks === null)
    return { ok: false, error: `this is the side channel of ${options.role} engine ${options.engineId}: a decode instance serves no KV blocks` };
  if (request.engine_id !== options.engineId)
    return {
      ok: false,
      error: `engine id mismatch: this side channel serves engine ${options.engineId}, the request names ${String(request.engine_id)}`,
    };
  const reason = options.blocks.release(String(request.request_id), request.block_ids);
  return reason === null ? { ok: true, instance: options.self } : { ok: false, error: reason };
}

/** Listen on the side channel; rejects with vLLM's ZMQ-style reason when the address cannot be bound. */
export function listenSideChannel(options: ListenerOptions): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.setEncoding("utf8");
      socket.on("error", () => undefined);
      let buffered = "";
      socket.on("data", (chunk: string) => {
        buffered += chunk;
        const nl = buffered.indexOf("\n");
        if (nl < 0) return;
        let reply: object;
        try {
          reply = answer(JSON.parse(buffered.slice(0, nl)) as object, options);
        } catch {
          reply = { ok: false, error: "not a NIXL side channel request" };
        }
        socket.end(`${JSON.stringify(reply)}\n`);
      });
    });
    server.on("error", (e: NodeJS.ErrnoException) =>
      reject(
        new Error(`${e.code === "EADDRINUSE" ? "Address already in use" : (e.code ?? e.message)} (addr='tcp://${options.host}:${options.port}')`),
      ),
    );
    server.listen(options.port, options.host, () => resolve(server));
  });
}

/** What a decode request's kv_transfer_params must name to pull its prompt's KV from the prefill instance. */
export interface RemotePrefill {
  readonly remote_engine_id: string;
  readonly remote_request_id: string;
  readonly remote_block_ids: readonly number[];
  readonly remote_host: string;
  readonly remote_port: number;
}

/** Read (and so release) a prefilled request's blocks from its producer; resolves to the producer's identity. */
export function readRemoteBlocks(remote: RemotePrefill, reader: InstanceId, timeoutMs: number): Promise<InstanceId> {
  const address = `${remote.remote_host}:${remote.remote_port}`;
  return new Promise((resolve, reject) => {
    const fail = (reason: string): void => {
      socket.destroy();
      reject(new Error(`KV transfer from NIXL side channel ${address} (engine ${remote.remote_engine_id}) failed: ${reason}`));
    };
    const socket = net.connect(remote.remote_port, remote.remote_host);
    socket.setEncoding("utf8");
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms: not a live NIXL side channel`));
    socket.on("error", (e: NodeJS.ErrnoException) =>
      fail(e.code === "ECONNREFUSED" ? "connection refused: no NIXL side channel listens there" : (e.code ?? e.message)),
    );
    socket.on("connect", () => {
      const request = { engine_id: remote.remote_engine_id, request_id: remote.remote_request_id, block_ids: remote.remote_block_ids, reader };
      socket.write(`${JSON.stringify(request)}\n`);
    });
    let buffered = "";
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf("\n");
      if (nl < 0) return;
      let reply: { ok?: unknown; instance?: InstanceId; error?: unknown };
      try {
        reply = JSON.parse(buffered.slice(0, nl)) as typeof reply;
      } catch {
        return fail("the answer is not a NIXL side channel handshake");
      }
      if (reply.ok === true && reply.instance) {
        socket.end();
        resolve(reply.instance);
      } else fail(String(reply.error ?? "the answer is not a NIXL side channel handshake"));
    });
    socket.on("end", () => fail("connection closed without a handshake: not a NIXL side channel"));
  });
}
