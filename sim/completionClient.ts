// The client side of the OpenAI-style API the stand-in serves, directly or behind vllm-router: POST a request,
// read a JSON body or an SSE stream, and say who prefilled and decoded it. `gaudi-pd simulate` and the tests share it.

/** One instance as the stand-in names it in `served_by`. */
export interface ServedInstance {
  readonly role: string;
  readonly host: string;
  readonly port: number;
  readonly dpRank?: number | null;
}

/** Who prefilled and who decoded a completion. */
export interface ServedBy {
  readonly prefill: ServedInstance | null;
  readonly decode: ServedInstance | null;
}

export interface Completion {
  /** The HTTP status, or 0 when nothing answered (the reason is then the text). */
  readonly status: number;
  readonly text: string;
  /** The JSON body, or null when the answer was not one JSON document (a stream, an error page). */
  readonly body: unknown;
  /** A stream's `data:` events before `[DONE]`, parsed. */
  readonly events: readonly Record<string, unknown>[];
  /** Whether a stream ended with `data: [DONE]`. */
  readonly done: boolean;
}

export type Endpoint = "completions" | "chat";

/** The path and body of a small completion or chat request. */
export function completionRequest(endpoint: Endpoint, model: string, prompt: string, stream: boolean, maxTokens = 8): { path: string; body: object } {
  return endpoint === "chat"
    ? { path: "/v1/chat/completions", body: { model, messages: [{ role: "user", content: prompt }], max_tokens: maxTokens, stream } }
    : { path: "/v1/completions", body: { model, prompt, max_tokens: maxTokens, stream } };
}

/** The body the router sends a prefill server: one token, not streamed, asking it to hold the KV blocks for a decode. */
export function prefillRequestBody(model: string, prompt: string): object {
  return {
    model,
    prompt,
    max_tokens: 1,
    stream: false,
    kv_transfer_params: {
      do_remote_decode: true,
      do_remote_prefill: false,
      remote_engine_id: null,
      remote_block_ids: null,
      remote_host: null,
      remote_port: null,
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Split a response into its JSON body or its stream events. */
export function parseCompletion(status: number, text: string): Completion {
  const events: Record<string, unknown>[] = [];
  let done = false;
  for (const line of text.split("\n")) {
    if (!line.startsWith("data:") || done) continue;
    const data = line.slice(5).trim();
    if (data === "[DONE]") done = true;
    else events.push(JSON.parse(data) as Record<string, unknown>);
  }
  return { status, text, body: events.length ? null : parseJson(text), events, done };
}

/** POST a JSON body. Never rejects: a connection failure or timeout is status 0 with the reason as text. */
export async function post(url: string, body: unknown, timeoutMs = 15_000): Promise<Completion> {
  let answer: { status: number; text: string };
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    answer = { status: res.status, text: await res.text() };
  } catch (e) {
    answer = { status: 0, text: `POST ${url}: ${e instanceof Error ? e.message : String(e)}` };
  }
  return parseCompletion(answer.status, answer.text);
}

/** The HTTP status of GET url, or null when nothing answers. */
export async function httpStatus(url: string, timeoutMs = 2000): Promise<number | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return null;
  }
}

/** Every `served_by` report of a completion: in its body, or in the streamed chunks (the stand-in sends one). */
export function servedByReports(c: Completion): ServedBy[] {
  const carriers = c.events.length ? c.events : [c.body];
  return carriers.flatMap((x) => ((x as { served_by?: ServedBy } | null)?.served_by ? [(x as { served_by: ServedBy }).served_by] : []));
}

/** The generated text: a body's text or message, or the concatenated stream deltas. */
export function generatedText(c: Completion): string {
  type Choice = { text?: string; message?: { content?: string }; delta?: { content?: string } };
  const choices = (c.events.length ? c.events : [c.body]).map((x) => (x as { choices?: Choice[] } | null)?.choices?.[0]);
  return choices.map((ch) => ch?.text ?? ch?.message?.content ?? ch?.delta?.content ?? "").join("");
}
