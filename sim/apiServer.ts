// The OpenAI-compatible HTTP API of one stand-in instance: /health, /version, /v1/models, /metrics,
// /v1/completions and /v1/chat/completions (plain and streamed), with vLLM's NIXL prefill/decode protocol in
// kv_transfer_params. Every completion says who prefilled and who decoded it in `served_by`, which the router
// passes through untouched (the final body, or the chunk carrying finish_reason when streaming).
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import { countTokens, pseudoTokens } from "./generation";
import { NixlMetrics } from "./nixlMetrics";
import { type PrefilledBlocks, readRemoteBlocks, type RemotePrefill } from "./sideChannel";
import type { InstanceId, ServeConfig } from "./serveConfig";
import { VLLM_VERSION } from "./vllmServeFlags";

export interface ApiOptions {
  readonly config: ServeConfig;
  /** The blocks this instance prefilled for remote decode (producers only). */
  readonly blocks: PrefilledBlocks | null;
  /** Called after each completion request was answered (success or not). */
  readonly onAnswered: () => void;
  /** Answer prefilled requests without pulling their KV (the fault knob VLLM_SIM_SKIP_KV_PULL). */
  readonly skipKvPull: boolean;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

interface Served {
  readonly prefill: InstanceId | null;
  readonly decode: InstanceId | null;
}

interface Counters {
  running: number;
  success: number;
  failed: number;
  promptTokens: number;
  generationTokens: number;
}

const MAX_BODY = 16 * 1024 * 1024;
const KV_READ_TIMEOUT_MS = 5000;
/** KV bytes per prompt token the stand-in reports (a small model's K and V across its layers, bf16). */
const KV_BYTES_PER_TOKEN = 64 * 1024;

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new HttpError(413, "BadRequestError", "request body too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function promptOf(body: Record<string, unknown>, chat: boolean): string {
  if (chat) {
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0)
      throw new HttpError(400, "BadRequestError", "messages: a non-empty list of messages is required");
    return messages
      .map(
        (m: { role?: unknown; content?: unknown }) => `${String(m.role)}: ${typeof m.content === "string" ? m.content : JSON.stringify(m.content)}`,
      )
      .join("\n");
  }
  const prompt = body.prompt;
  if (typeof prompt === "string") return prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === "string") return prompt[0];
  if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((t) => Number.isInteger(t))) return JSON.stringify(prompt);
  throw new HttpError(
    400,
    "BadRequestError",
    "prompt: a string, a one-string list or a list of token ids is required (the stand-in answers one prompt per request)",
  );
}

function maxTokensOf(body: Record<string, unknown>, chat: boolean): number {
  const raw = chat ? (body.max_completion_tokens ?? body.max_tokens) : body.max_tokens;
  if (raw === undefined || raw === null) return 16;
  if (!Number.isInteger(raw) || (raw as number) < 1)
    throw new HttpError(400, "BadRequestError", `max_tokens must be at least 1, got ${JSON.stringify(raw)}.`);
  return raw as number;
}

/** The remote_* fields a decode needs, each checked for its type. */
const REMOTE_FIELDS: Record<keyof RemotePrefill, (v: unknown) => boolean> = {
  remote_engine_id: (v) => typeof v === "string" && v !== "",
  remote_request_id: (v) => typeof v === "string" && v !== "",
  remote_block_ids: (v) => Array.isArray(v),
  remote_host: (v) => typeof v === "string" && v !== "",
  remote_port: (v) => Number.isInteger(v) && (v as number) > 0 && (v as number) < 65536,
};

function remotePrefillOf(params: Record<string, unknown>): RemotePrefill {
  const bad = Object.entries(REMOTE_FIELDS)
    .filter(([k, ok]) => !ok(params[k]))
    .map(([k]) => `${k}=${JSON.stringify(params[k] ?? null)}`);
  if (bad.length > 0)
    throw new HttpError(400, "BadRequestError", `kv_transfer_params with do_remote_prefill has missing or invalid ${bad.join(", ")}`);
  return params as unknown as RemotePrefill;
}

function prometheus(config: ServeConfig, c: Counters, nixl: NixlMetrics | null): string {
  const labels = `model_name="${config.servedModelNames[0]}",engine="${config.dp?.rank ?? 0}"`;
  const series: [string, "gauge" | "counter", string, number][] = [
    ["vllm:num_requests_running", "gauge", "Number of requests in model execution batches.", c.running],
    ["vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.", 0],
    ["vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.", 0],
    ["vllm:request_failed_total", "counter", "Count of requests answered with an error (stand-in).", c.failed],
    ["vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.", c.promptTokens],
    ["vllm:generation_tokens_total", "counter", "Number of generation tokens processed.", c.generationTokens],
  ];
  // vLLM labels finished requests by why they finished; the stand-in always stops at max_tokens.
  const success =
    "# HELP vllm:request_success_total Count of successfully processed requests.\n# TYPE vllm:request_success_total counter\n" +
    `vllm:request_success_total{${labels},finished_reason="length"} ${c.success}\n`;
  return (
    series.map(([name, type, help, value]) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name}{${labels}} ${value}\n`).join("") +
    success +
    (nixl?.exposition(labels) ?? "")
  );
}

/** The HTTP server (not yet listening) of one instance. */
export function createApiServer(options: ApiOptions): http.Server {
  const { config, blocks } = options;
  const self = config.id;
  const modelName = config.servedModelNames[0] ?? config.model;
  const counters: Counters = { running: 0, success: 0, failed: 0, promptTokens: 0, generationTokens: 0 };
  // Every NixlConnector instance exports the series; only the side that pulls (decode) ever records a transfer.
  const nixl = config.kv === null ? null : new NixlMetrics();
  const created = (): number => Math.floor(Date.now() / 1000);

  async function complete(req: http.IncomingMessage, res: http.ServerResponse, chat: boolean): Promise<void> {
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(await readBody(req));
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
      body = parsed as Record<string, unknown>;
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw new HttpError(400, "BadRequestError", "the request body is not a JSON object");
    }
    if (!config.servedModelNames.includes(String(body.model)))
      throw new HttpError(404, "NotFoundError", `The model \`${String(body.model)}\` does not exist.`);
    const prompt = promptOf(body, chat);
    const maxTokens = maxTokensOf(body, chat);
    const promptTokens = countTokens(prompt);
    if (promptTokens + maxTokens > config.maxModelLen) {
      throw new HttpError(
        400,
        "BadRequestError",
        `This model's maximum context length is ${config.maxModelLen} tokens. However, you requested ${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion).`,
      );
    }
    const params = (typeof body.kv_transfer_params === "object" && body.kv_transfer_params !== null ? body.kv_transfer_params : {}) as Record<
      string,
      unknown
    >;
    const requestId = `${chat ? "chatcmpl" : "cmpl"}-${randomUUID().replace(/-/g, "")}`;
    let served: Served = { prefill: self, decode: self };
    let kvOut: Record<string, unknown> | null = null;

    if (params.do_remote_prefill === true) {
      if (config.kv === null || config.kv.role === "kv_producer")
        throw new HttpError(
          400,
          "BadRequestError",
          `kv_transfer_params.do_remote_prefill sent to a ${config.kv?.role ?? "connector-less"} instance (${self.host}:${self.port}): only a kv_consumer pulls KV`,
        );
      const remote = remotePrefillOf(params);
      if (options.skipKvPull) served = { prefill: null, decode: self };
      else {
        const started = performance.now();
        try {
          served = { prefill: await readRemoteBlocks(remote, self, KV_READ_TIMEOUT_MS), decode: self };
        } catch (e) {
          if (nixl) nixl.failedTransfers++;
          throw new HttpError(500, "InternalServerError", (e as Error).message);
        }
        const seconds = (performance.now() - started) / 1000;
        nixl?.observe({
          seconds,
          postSeconds: seconds / 10,
          bytes: countTokens(prompt) * KV_BYTES_PER_TOKEN,
          descriptors: remote.remote_block_ids.length,
        });
      }
    } else if (params.do_remote_decode === true) {
      if (config.kv === null || blocks === null || config.sideChannel === null) {
        throw new HttpError(
          400,
          "BadRequestError",
          `kv_transfer_params.do_remote_decode sent to a ${config.kv?.role ?? "connector-less"} instance (${self.host}:${self.port}): only a kv_producer prefills for remote decode`,
        );
      }
      served = { prefill: self, decode: null };
      kvOut = {
        do_remote_prefill: true,
        do_remote_decode: false,
        remote_block_ids: blocks.keep(requestId, promptTokens),
        remote_engine_id: config.kv.engineId,
        remote_request_id: requestId,
        remote_host: config.sideChannel.host,
        remote_port: config.sideChannel.port,
        tp_size: config.tpSize,
        remote_num_tokens: promptTokens,
      };
    }

    const tokens = pseudoTokens(prompt, maxTokens);
    const usage = { prompt_tokens: promptTokens, total_tokens: promptTokens + maxTokens, completion_tokens: maxTokens, prompt_tokens_details: null };
    counters.promptTokens += promptTokens;
    counters.generationTokens += maxTokens;
    const head = { id: requestId, object: chat ? "chat.completion" : "text_completion", created: created(), model: modelName };

    if (body.stream !== true) {
      const choice = chat
        ? {
            index: 0,
            message: { role: "assistant", content: tokens.join(""), reasoning_content: null, tool_calls: [] },
            logprobs: null,
            finish_reason: "length",
            stop_reason: null,
          }
        : { index: 0, text: tokens.join(""), logprobs: null, finish_reason: "length", stop_reason: null, prompt_logprobs: null };
      sendJson(res, 200, { ...head, choices: [choice], usage, kv_transfer_params: kvOut, served_by: served });
      return;
    }
    const chunkHead = { ...head, object: chat ? "chat.completion.chunk" : "text_completion" };
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
    const event = (data: unknown): boolean => res.write(`data: ${JSON.stringify(data)}\n\n`);
    if (chat) event({ ...chunkHead, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] });
    tokens.forEach((token, i) => {
      const last = i === tokens.length - 1;
      const choice = chat
        ? { index: 0, delta: { content: token }, logprobs: null, finish_reason: last ? "length" : null, stop_reason: null }
        : { index: 0, text: token, logprobs: null, finish_reason: last ? "length" : null, stop_reason: null };
      event({ ...chunkHead, choices: [choice], ...(last ? { kv_transfer_params: kvOut, served_by: served } : {}) });
    });
    const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
    if (streamOptions?.include_usage === true) event({ ...chunkHead, choices: [], usage });
    res.end("data: [DONE]\n\n");
  }

  const routes: Record<string, { method: string; handle: (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void> }> = {
    "/health": { method: "GET", handle: (_req, res) => void res.writeHead(200, { "content-length": 0 }).end() },
    "/version": { method: "GET", handle: (_req, res) => sendJson(res, 200, { version: VLLM_VERSION }) },
    "/metrics": {
      method: "GET",
      handle: (_req, res) => {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
        res.end(prometheus(config, counters, nixl));
      },
    },
    "/v1/models": {
      method: "GET",
      handle: (_req, res) =>
        sendJson(res, 200, {
          object: "list",
          data: config.servedModelNames.map((id) => ({
            id,
            object: "model",
            created: created(),
            owned_by: "vllm",
            root: config.model,
            parent: null,
            max_model_len: config.maxModelLen,
          })),
        }),
    },
    "/v1/completions": { method: "POST", handle: (req, res) => complete(req, res, false) },
    "/v1/chat/completions": { method: "POST", handle: (req, res) => complete(req, res, true) },
  };

  return http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const route = routes[path];
    if (!route) return sendJson(res, 404, { detail: "Not Found" });
    if (req.method !== route.method) return sendJson(res, 405, { detail: "Method Not Allowed" });
    const isCompletion = route.method === "POST";
    if (isCompletion) {
      counters.running++;
      res.on("close", () => {
        counters.running--;
        if (res.statusCode === 200) counters.success++;
        else counters.failed++;
        options.onAnswered();
      });
    }
    Promise.resolve(route.handle(req, res)).catch((e: unknown) => {
      const error = e instanceof HttpError ? e : new HttpError(500, "InternalServerError", (e as Error).message);
      if (res.headersSent) res.destroy(error);
      else sendJson(res, error.status, { error: { message: error.message, type: error.errorType, param: null, code: error.status } });
    });
  });
}
