// Security-group ingress in the three shapes the AWS provider accepts, reduced to the rules that admit
// traffic from addresses (CIDRs, prefix lists). Rules whose source is a security group (or `self`) stay
// inside the cluster and are not returned.
import { elements, Maybe, read, UNKNOWN } from "./props";
import { T } from "./types";

/** Ports a rule opens: a TCP or UDP range, every port (all traffic, or a protocol without ports), or none (ICMP). */
export type PortSpan =
  { readonly protocol: "tcp" | "udp"; readonly from: number; readonly to: number } | { readonly protocol: string; readonly all: true } | null;

/** One address source admitted by one rule. */
export interface AddressIngress {
  /** Where in the resource the rule sits (`ingress[1]`), empty for a standalone rule resource. */
  readonly where: string;
  /** A CIDR (`203.0.113.0/24`, `::/0`) or a prefix list id. */
  readonly source: string;
  readonly ports: PortSpan;
}

type Props = Record<string, any>;

const ICMP = new Set(["icmp", "1", "icmpv6", "58"]);
const NAMED: Record<string, "tcp" | "udp"> = { tcp: "tcp", "6": "tcp", udp: "udp", "17": "udp" };

/** What a protocol/port triple opens; undefined when part of it is unknown until the update. */
function portSpan(protocol: unknown, from: unknown, to: unknown): PortSpan | undefined {
  if (typeof protocol !== "string") return undefined;
  const p = protocol.toLowerCase();
  if (p === "-1" || p === "all") return { protocol: "all", all: true };
  if (ICMP.has(p)) return null;
  const named = NAMED[p];
  if (!named) return { protocol: p, all: true };
  if (typeof from !== "number" || typeof to !== "number") return undefined;
  return { protocol: named, from, to };
}

/** The address sources of one rule: known strings among CIDR lists and prefix-list ids. */
function sources(lists: (() => readonly string[] | undefined)[], singles: (() => string | undefined)[]): string[] {
  const values = [...lists.flatMap((get) => elements(get)), ...singles.map((get) => read(get))];
  return values.filter((v): v is string => v !== UNKNOWN && typeof v === "string" && v !== "");
}

function rule(where: string, span: Maybe<PortSpan | undefined>, from: string[]): AddressIngress[] {
  return span === undefined || span === UNKNOWN ? [] : from.map((source) => ({ where, source, ports: span }));
}

/** Address-sourced ingress of a resource, or null when the resource is not a security group or ingress rule. */
export function addressIngressOf(type: string, props: Props): AddressIngress[] | null {
  switch (type) {
    case T.securityGroup:
      return elements<Props>(() => props.ingress).flatMap((r, i) => {
        if (r === UNKNOWN) return [];
        const from = sources([() => r.cidrBlocks, () => r.ipv6CidrBlocks, () => r.prefixListIds], []);
        return rule(
          `ingress[${i}]`,
          read(() => portSpan(r.protocol, r.fromPort, r.toPort)),
          from,
        );
      });
    case T.securityGroupRule: {
      if (read(() => props.type) !== "ingress") return [];
      const from = sources([() => props.cidrBlocks, () => props.ipv6CidrBlocks, () => props.prefixListIds], []);
      return rule(
        "",
        read(() => portSpan(props.protocol, props.fromPort, props.toPort)),
        from,
      );
    }
    case T.vpcIngressRule: {
      const from = sources([], [() => props.cidrIpv4, () => props.cidrIpv6, () => props.prefixListId]);
      return rule(
        "",
        read(() => portSpan(props.ipProtocol, props.fromPort, props.toPort)),
        from,
      );
    }
    default:
      return null;
  }
}

/** True when the span opens exactly one TCP port and it is `port`. */
export function isOnlyTcpPort(span: PortSpan, port: number): boolean {
  return span !== null && !("all" in span) && span.protocol === "tcp" && span.from === port && span.to === port;
}

/** `tcp 8300-8399`, `tcp 22`, `all traffic`, for messages. */
export function describeSpan(span: PortSpan): string {
  if (span === null) return "icmp";
  if ("all" in span) return span.protocol === "all" ? "all traffic" : `protocol ${span.protocol} (every port)`;
  return `${span.protocol} ${span.from === span.to ? span.from : `${span.from}-${span.to}`}`;
}

/** The world: any address at all. */
export function isOpenToWorld(source: string): boolean {
  return source === "0.0.0.0/0" || source === "::/0";
}

/** The `name: where` prefix of a message about one rule. */
export function ruleLabel(name: string, r: AddressIngress): string {
  return r.where ? `${name} ${r.where}` : name;
}
