// Requests through the router, each checked to have been prefilled and decoded by two different planned
// instances of the right roles (the stand-in reports both in `served_by`).
import type { ClusterPlan } from "../components/plan";

export const REQUEST_KINDS = ["completion", "chat", "completion-stream", "chat-stream"] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export interface RequestOutcome {
  readonly index: number;
  readonly kind: RequestKind;
  readonly ms: number;
  /** Why the request failed, or null. */
  readonly error: string | null;
}

interface Served {
  readonly role: string;
  readonly host: string;
  readonly port: number;
}

const CONCURRENCY = 8;
const REQUEST_TIMEOUT_MS = 30_000;

function body(plan: ClusterPlan, kind: RequestKind, index: number): object {
  const stream = kind.endsWith("-stream");
  const text = `request ${index}: what does disaggregated prefill buy us on Gaudi?`;
  return kind.startsWith("chat")
    ? { model: plan.topology.model, messages: [{ role: "user", content: text }], max_tokens: 8, stream }
    : { model: plan.topology.model, prompt: text, max_tokens: 8, stream };
}

/** The JSON objects of a response: the body itself, or every `data:` event of a stream. */
function payloads(text: string, stream: boolean): Record<string, unknown>[] {
  if (!stream) return [JSON.parse(text) as Record<string, unknown>];
  return text
    .split("\n")
    .filter((l) => l.startsWith("data:") && l.trim() !== "data: [DONE]")
    .map((l) => JSON.parse(l.slice(5)) as Record<string, unknown>);
}

/** Why a served_by report is wrong for this plan, or null when prefill and decode are two planned instances of the right roles. */
export function servedByProblem(plan: ClusterPlan, servedBy: unknown): string | null {
  const s = servedBy as { prefill?: Served | null; decode?: Served | null } | undefined;
  if (!s?.prefill || !s?.decode) return `response does not say who prefilled and decoded it (served_by: ${JSON.stringify(servedBy)})`;
  const planned = (x: Served, role: string) => plan.instances.some((i) => i.role === role && i.port === x.port);
  if (s.prefill.role !== "prefill" || !planned(s.prefill, "prefill")) return `prefilled by ${JSON.stringify(s.prefill)}, not a planned prefill instance`;
  if (s.decode.role !== "decode" || !planned(s.decode, "decode")) return `decoded by ${JSON.stringify(s.decode)}, not a planned decode instance`;
  if (s.prefill.host === s.decode.host && s.prefill.port === s.decode.port) return `prefilled and decoded by the same instance ${s.prefill.host}:${s.prefill.port}`;
  return null;
}

async function sendOne(plan: ClusterPlan, routerUrl: string, index: number): Promise<RequestOutcome> {
  const kind = REQUEST_KINDS[index % REQUEST_KINDS.length];
  const started = performance.now();
  const done = (error: string | null): RequestOutcome => ({ index, kind, ms: performance.now() - started, error });
  try {
    const path = kind.startsWith("chat") ? "/v1/chat/completions" : "/v1/completions";
    const res = await fetch(`${routerUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body(plan, kind, index)),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    if (res.status !== 200) return done(`HTTP ${res.status} from the router: ${text.slice(0, 400).replace(/\s+/g, " ")}`);
    const events = payloads(text, kind.endsWith("-stream"));
    const servedBy = events.map((e) => e.served_by).find((x) => x !== undefined);
    return done(servedByProblem(plan, servedBy));
  } catch (e) {
    return done(e instanceof Error ? e.message : String(e));
  }
}

/** Send `count` requests, CONCURRENCY at a time, cycling through completions and chat, streamed and not. */
export async function sendRequests(plan: ClusterPlan, routerUrl: string, count: number, progress: (line: string) => void): Promise<RequestOutcome[]> {
  const outcomes: RequestOutcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      outcomes.push(await sendOne(plan, routerUrl, index));
      if (outcomes.length % Math.max(1, Math.ceil(count / 10)) === 0) progress(`simulate: ${outcomes.length}/${count} requests answered`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
  return outcomes.sort((a, b) => a.index - b.index);
}
