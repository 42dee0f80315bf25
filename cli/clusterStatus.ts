// What `gaudi-pd status` makes of the hosts' answers: a verdict per planned service (healthy, starting,
// restarting n times, down), and for every node that needs it the `pulumi up --replace` that restarts it.
import { instanceService, ROUTER_SERVICE, ROUTER_UNIT, routerServeName, serveName, servingCommandUrn } from "../components/names";
import { ClusterPlan } from "../components/plan";
import { ROUTER_READY_PATH } from "../components/render/routerScript";
import { shellJoin } from "../components/render/shellQuote";

/** What the host script's `status --porcelain` says about one service. */
export interface ServiceReport {
  readonly key: string;
  /** running | restarting | unsupervised | failed | stopped */
  readonly state: string;
  readonly restarts: number;
  /** The HTTP status of its health check, 0 when it did not answer. */
  readonly http: number;
  readonly port: number;
}

/** One unit's answer: its services' reports, or why there are none. */
export type UnitAnswer =
  | { readonly kind: "reports"; readonly reports: readonly ServiceReport[] }
  | { readonly kind: "not-installed" }
  | { readonly kind: "unreachable"; readonly why: string };

/** Lines of `status --porcelain`: KEY STATE RESTARTS HTTP PORT, tab-separated; anything else is skipped. */
export function parsePorcelain(text: string): ServiceReport[] {
  return text.split("\n").flatMap((line) => {
    const f = line.split("\t");
    if (f.length !== 5 || !/^\d+$/.test(f[2]) || !/^\d{3}$/.test(f[3]) || !/^\d+$/.test(f[4])) return [];
    return [{ key: f[0], state: f[1], restarts: Number(f[2]), http: Number(f[3]), port: Number(f[4]) }];
  });
}

export type VerdictKind = "healthy" | "starting" | "restarting" | "down";

export interface Verdict {
  readonly kind: VerdictKind;
  readonly text: string;
}

const times = (n: number) => `${n} time${n === 1 ? "" : "s"}`;

/** The verdict on one service's report; undefined report: the unit answered without it. */
export function verdictOf(r: ServiceReport | undefined): Verdict {
  if (!r) return { kind: "down", text: "down (its host script does not know it: the script is from another plan)" };
  const live = r.state === "running" || r.state === "restarting";
  if (live && r.http === 200) return { kind: "healthy", text: r.restarts ? `healthy (restarted ${times(r.restarts)})` : "healthy" };
  if (live) return r.restarts ? { kind: "restarting", text: `restarting (${times(r.restarts)})` } : { kind: "starting", text: "starting" };
  if (r.state === "unsupervised") return { kind: "down", text: "down (still serving, but its supervisor is gone: nothing restarts it)" };
  const after = r.restarts ? ` after ${r.restarts} restart${r.restarts === 1 ? "" : "s"}` : "";
  if (r.state === "failed") return { kind: "down", text: `down (gave up or was killed${after})` };
  return { kind: "down", text: `down (${r.state})` };
}

/** One planned service of the cluster, where it runs. */
export interface PlannedService {
  /** The machine: a plan node or DEDICATED_ROUTER_NODE. */
  readonly host: string;
  /** The host unit whose script runs it (a node name or ROUTER_UNIT). */
  readonly unit: string;
  readonly key: string;
  readonly port: number;
}

/** Every service the plan runs, on the machine that runs it. */
export function plannedServices(plan: ClusterPlan): PlannedService[] {
  return [
    ...plan.instances.map((i) => ({ host: i.node, unit: i.node, key: instanceService(i.role, i.instance), port: i.port })),
    { host: plan.router.node, unit: ROUTER_UNIT, key: ROUTER_SERVICE, port: plan.router.port },
  ];
}

/** A status row: a service and what was found. */
export interface StatusRow {
  readonly service: PlannedService;
  readonly verdict: Verdict;
  /** The health check and its answer (`/health 200`, `/readiness 503`), or `-` when the host gave none. */
  readonly check: string;
}

/** The rows of the whole cluster from each unit's answer (keyed `host unit`). */
export function statusRows(plan: ClusterPlan, answers: ReadonlyMap<string, UnitAnswer>): StatusRow[] {
  return plannedServices(plan).map((service) => {
    const answer = answers.get(`${service.host} ${service.unit}`) ?? { kind: "unreachable", why: "not asked" };
    const path = service.unit === ROUTER_UNIT ? ROUTER_READY_PATH : "/health";
    if (answer.kind === "unreachable") return { service, verdict: { kind: "down", text: `unknown: ${answer.why}` }, check: "-" };
    if (answer.kind === "not-installed") return { service, verdict: { kind: "down", text: "down (its host script is not installed)" }, check: "-" };
    const report = answer.reports.find((r) => r.key === service.key);
    return { service, verdict: verdictOf(report), check: report ? `${path} ${report.http || "no answer"}` : "-" };
  });
}

/** The URN of the command that serves a unit: a node's serve command, or the router's. */
export function serveCommandUrn(stack: string, project: string, cluster: string, unit: string): string {
  // A stack given as org/project/stack keeps only its last part in URNs.
  const stackName = stack.split("/").at(-1) as string;
  return servingCommandUrn(stackName, project, unit === ROUTER_UNIT ? routerServeName(cluster) : serveName(cluster, unit));
}

/** The command that replaces a unit's serve command, shell-quoted to be run as printed. */
export function replaceCommand(stack: string, project: string, cluster: string, unit: string): string {
  return shellJoin(["pulumi", "up", "--stack", stack, "--replace", serveCommandUrn(stack, project, cluster, unit)]);
}

/** The units a replace would bring back: one with a service down on a host that answered. */
export function unitsToReplace(rows: readonly StatusRow[], answers: ReadonlyMap<string, UnitAnswer>): string[] {
  const down = rows.filter((r) => r.verdict.kind === "down" && answers.get(`${r.service.host} ${r.service.unit}`)?.kind !== "unreachable");
  return [...new Set(down.map((r) => r.service.unit))];
}
