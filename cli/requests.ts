// Requests through the router, each checked to have been prefilled and decoded by two different planned
// instances of the right roles (the stand-in reports both in `served_by`).
import type { ClusterPlan } from "../components/plan";
import { completionRequest, post, type ServedBy, servedByReports, type ServedInstance } from "../sim/completionClient";

export const REQUEST_KINDS = ["completion", "chat", "completion-stream", "chat-stream"] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export interface RequestOutcome {
  readonly index: number;
  readonly kind: RequestKind;
  readonly ms: number;
  /** Why the request failed, or null. */
  readonly error: string | null;
}

const CONCURRENCY = 8;
const REQUEST_TIMEOUT_MS = 30_000;

/** Why the served_by reports are wrong for this plan, or null when exactly one names two planned instances of the right roles. */
export function servedByProblem(plan: ClusterPlan, reports: readonly ServedBy[]): string | null {
  const s = reports[0];
  if (reports.length !== 1 || !s.prefill || !s.decode)
    return `response does not say once who prefilled and decoded it (served_by: ${JSON.stringify(reports)})`;
  const planned = (x: ServedInstance, role: string) => plan.instances.some((i) => i.role === role && i.port === x.port);
  if (s.prefill.role !== "prefill" || !planned(s.prefill, "prefill"))
    return `prefilled by ${JSON.stringify(s.prefill)}, not a planned prefill instance`;
  if (s.decode.role !== "decode" || !planned(s.decode, "decode")) return `decoded by ${JSON.stringify(s.decode)}, not a planned decode instance`;
  if (s.prefill.host === s.decode.host && s.prefill.port === s.decode.port)
    return `prefilled and decoded by the same instance ${s.prefill.host}:${s.prefill.port}`;
  return null;
}

async function sendOne(plan: ClusterPlan, routerUrl: string, index: number): Promise<RequestOutcome> {
  const kind = REQUEST_KINDS[index % REQUEST_KINDS.length];
  const stream = kind.endsWith("-stream");
  const { path, body } = completionRequest(
    kind.startsWith("chat") ? "chat" : "completions",
    plan.topology.model,
    `request ${index}: what does disaggregated prefill buy us on Gaudi?`,
    stream,
  );
  const started = performance.now();
  const done = (error: string | null): RequestOutcome => ({ index, kind, ms: performance.now() - started, error });
  try {
    const r = await post(`${routerUrl}${path}`, body, REQUEST_TIMEOUT_MS);
    if (r.status === 0) return done(r.text);
    if (r.status !== 200) return done(`HTTP ${r.status} from the router: ${r.text.slice(0, 400).replace(/\s+/g, " ")}`);
    if (stream && !r.done) return done("the stream ended without data: [DONE]");
    return done(servedByProblem(plan, servedByReports(r)));
  } catch (e) {
    // A body that is not the JSON it claims to be.
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
