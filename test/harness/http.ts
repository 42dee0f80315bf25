// HTTP from the test process to services on test hosts: plain JSON posts and OpenAI-style server-sent events.

export interface HttpResult {
  readonly status: number;
  readonly text: string;
}

/** Never rejects: a connection failure or timeout is status 0 with the reason as text. */
export async function postJson(url: string, body: unknown, timeoutMs = 30_000): Promise<HttpResult> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, text: await res.text() };
  } catch (e) {
    return { status: 0, text: `POST ${url}: ${(e as Error).message}` };
  }
}

/** The JSON payloads of an SSE body's `data:` lines, up to `[DONE]`; throws if `[DONE]` never came. */
export function sseEvents(text: string): unknown[] {
  const events: unknown[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("data:")) continue;
    const data = line.slice(5).trim();
    if (data === "[DONE]") return events;
    events.push(JSON.parse(data));
  }
  throw new Error(`stream ended without data: [DONE]:\n${text.slice(0, 2000)}`);
}
