// GaudiNodes: the AWS machines of a plan — one EFA-wired Gaudi instance per node in a cluster placement
// group, a small CPU instance for a dedicated router, and the security group that keeps them closed.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { Host, hostInfos, HostRole, hostRole, sshConnection } from "./hosts";
import { childName, COMPONENT_TYPES, DEDICATED_ROUTER_NODE, eipName, machineName } from "./names";
import { ClusterPlan } from "./plan";
import { ConfigError, problem } from "./problems";
import { AwsInfra, deployProblems, Topology } from "./topology";

export interface GaudiNodesArgs {
  /** The cluster plan: one Gaudi instance per node, plus a router instance when the router is dedicated; its infra must be `kind: aws`. */
  readonly plan: ClusterPlan;
  /** The SSH private key matching infra.publicKey (a secret); it only ever enters the hosts' connections. */
  readonly sshPrivateKey: pulumi.Input<string>;
}

/** The SSH port the security group opens to infra.sshCidrs. */
export const SSH_PORT = 22;

/** One opening of the security group to the outside: a TCP port from one CIDR. */
export interface Opening {
  /** Resource name suffix: what it opens and to whom. */
  readonly key: string;
  readonly description: string;
  readonly cidr: string;
  readonly port: number;
}

/** Everything reachable from outside the group: SSH from sshCidrs, the router from routerCidrs, nothing else. */
export function openings(infra: AwsInfra, routerPort: number): Opening[] {
  return [
    ...infra.sshCidrs.map((cidr) => ({ key: `ssh-${cidr}`, description: `SSH from ${cidr}`, cidr, port: SSH_PORT })),
    ...infra.routerCidrs.map((cidr) => ({ key: `router-${cidr}`, description: `vllm-router from ${cidr}`, cidr, port: routerPort })),
  ];
}

/** A network interface of a Gaudi instance at launch. */
export interface InterfaceSlot {
  readonly deviceIndex: number;
  readonly networkCardIndex: number;
  readonly interfaceType?: "efa";
}

/** AWS's multi-card EFA layout: the primary EFA on card 0 (device 0), each further one alone on the next card (device 1). */
export function gaudiInterfaces(efaInterfaces: number): InterfaceSlot[] {
  if (efaInterfaces === 0) return [{ deviceIndex: 0, networkCardIndex: 0 }];
  return Array.from({ length: efaInterfaces }, (_, card) => ({
    deviceIndex: card === 0 ? 0 : 1,
    networkCardIndex: card,
    interfaceType: "efa" as const,
  }));
}

/** The subnet to launch in: the first (by id) of the VPC's subnets in a zone that offers the instance type. */
export function chooseSubnet(subnetIds: readonly string[], vpcId: string, instanceType: string, zones: readonly string[]): string {
  const [first] = [...subnetIds].sort();
  if (first === undefined)
    throw new Error(
      `infra: VPC ${vpcId} has no subnet in a zone offering ${instanceType} (${zones.join(", ") || "none in this region"}); set infra.subnetId or infra.vpcId`,
    );
  return first;
}

/** The AWS infra of a topology that is meant to deploy on AWS; anything else is a caller's mistake. */
function awsInfraOf(t: Topology): AwsInfra {
  if (t.infra?.kind !== "aws") throw new ConfigError([problem("infra.kind", `GaudiNodes needs "aws", got ${JSON.stringify(t.infra?.kind ?? null)}`)]);
  const problems = deployProblems(t);
  if (problems.length) throw new ConfigError(problems);
  return t.infra;
}

/** Instance metadata only through IMDSv2 session tokens. */
const IMDS_V2 = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 2 };

export class GaudiNodes extends pulumi.ComponentResource {
  /** The Gaudi nodes in plan order, then the router host when the router is dedicated. */
  readonly hosts: Host[];
  /** The group every instance is in: all traffic within it, SSH and the router from the configured CIDRs. */
  readonly securityGroupId: pulumi.Output<string>;
  /** The cluster placement group of the Gaudi instances. */
  readonly placementGroupName: pulumi.Output<string>;

  constructor(name: string, args: GaudiNodesArgs, opts?: pulumi.ComponentResourceOptions) {
    const { plan } = args;
    const infra = awsInfraOf(plan.topology);
    super(COMPONENT_TYPES.gaudiNodes, name, {}, opts);
    const provider = infra.region ? new aws.Provider(childName(name, "aws"), { region: infra.region as aws.Region }, { parent: this }) : undefined;
    const child = { parent: this, provider };
    const tags = (node: string, role: HostRole, rank: number) => ({ Name: machineName(name, node), Role: role, Rank: String(rank) });
    const host = (
      role: HostRole,
      rank: number,
      hostName: string,
      privateAddress: pulumi.Output<string>,
      publicAddress: pulumi.Output<string>,
    ): Host => ({
      role,
      rank,
      name: hostName,
      privateAddress,
      publicAddress,
      connection: sshConnection({ host: publicAddress, user: infra.sshUser }, args.sshPrivateKey),
    });

    const vpcId = infra.vpcId
      ? pulumi.output(infra.vpcId)
      : infra.subnetId
        ? aws.ec2.getSubnetOutput({ id: infra.subnetId }, child).vpcId
        : aws.ec2.getVpcOutput({ default: true }, child).id;
    const subnetId = infra.subnetId ? pulumi.output(infra.subnetId) : this.subnetOffering(infra, vpcId, child);

    const sg = new aws.ec2.SecurityGroup(
      childName(name, "sg"),
      {
        vpcId,
        description: "gaudi-pd: all traffic within the group; SSH and the router from configured CIDRs",
        tags: { Name: childName(name, "sg") },
      },
      child,
    );
    new aws.vpc.SecurityGroupIngressRule(
      childName(name, "sg-self-in"),
      { securityGroupId: sg.id, referencedSecurityGroupId: sg.id, ipProtocol: "-1", description: "EFA, NIXL and DP traffic within the group" },
      child,
    );
    new aws.vpc.SecurityGroupEgressRule(
      childName(name, "sg-self-out"),
      { securityGroupId: sg.id, referencedSecurityGroupId: sg.id, ipProtocol: "-1", description: "EFA needs its own group as an egress target" },
      child,
    );
    new aws.vpc.SecurityGroupEgressRule(
      childName(name, "sg-all-out"),
      { securityGroupId: sg.id, cidrIpv4: "0.0.0.0/0", ipProtocol: "-1", description: "packages, models, AWS APIs" },
      child,
    );
    for (const o of openings(infra, plan.router.port))
      new aws.vpc.SecurityGroupIngressRule(
        childName(name, o.key),
        { securityGroupId: sg.id, cidrIpv4: o.cidr, ipProtocol: "tcp", fromPort: o.port, toPort: o.port, description: o.description },
        child,
      );

    const pg = new aws.ec2.PlacementGroup(childName(name, "pg"), { strategy: "cluster", tags: { Name: childName(name, "pg") } }, child);
    const key = new aws.ec2.KeyPair(childName(name, "key"), { publicKey: infra.publicKey as string, tags: { Name: childName(name, "key") } }, child);
    const ami =
      "id" in infra.ami
        ? pulumi.output(infra.ami.id)
        : aws.ec2.getAmiOutput(
            {
              owners: [infra.ami.owner],
              mostRecent: true,
              filters: [
                { name: "name", values: [infra.ami.name] },
                { name: "state", values: ["available"] },
              ],
            },
            child,
          ).id;
    // EFA interfaces can only be asked for at launch, through a launch template.
    const efa = new aws.ec2.LaunchTemplate(
      childName(name, "efa"),
      {
        description: "gaudi-pd: the EFA interfaces of a Gaudi node",
        metadataOptions: IMDS_V2,
        networkInterfaces: gaudiInterfaces(infra.efaInterfaces).map((slot) => ({
          ...slot,
          subnetId,
          securityGroups: [sg.id],
          deleteOnTermination: "true",
        })),
        tags: { Name: childName(name, "efa") },
      },
      child,
    );
    const rootVolume = { volumeType: "gp3", encrypted: true, deleteOnTermination: true };

    const nodes: Host[] = plan.nodes.map((node) => {
      const role = hostRole(node);
      const instance = new aws.ec2.Instance(
        machineName(name, node.name),
        {
          ami,
          instanceType: infra.instanceType,
          keyName: key.keyName,
          placementGroup: pg.name,
          launchTemplate: { id: efa.id, version: efa.latestVersion.apply(String) },
          metadataOptions: IMDS_V2,
          rootBlockDevice: { ...rootVolume, volumeSize: infra.rootVolumeGb },
          tags: tags(node.name, role, node.rank),
          volumeTags: tags(node.name, role, node.rank),
        },
        child,
      );
      // With several interfaces AWS assigns no public IPv4 at launch: SSH reaches the node through an Elastic IP.
      const eip = new aws.ec2.Eip(
        eipName(name, node.name),
        { domain: "vpc", networkInterface: instance.primaryNetworkInterfaceId, tags: tags(node.name, role, node.rank) },
        child,
      );
      return host(role, node.rank, node.name, instance.privateIp, eip.publicIp);
    });

    const routers: Host[] = [];
    if (plan.router.node === DEDICATED_ROUTER_NODE) {
      const router = new aws.ec2.Instance(
        machineName(name, DEDICATED_ROUTER_NODE),
        {
          ami,
          instanceType: infra.routerInstanceType,
          keyName: key.keyName,
          subnetId,
          vpcSecurityGroupIds: [sg.id],
          associatePublicIpAddress: true,
          metadataOptions: IMDS_V2,
          rootBlockDevice: rootVolume,
          tags: tags(DEDICATED_ROUTER_NODE, "router", 0),
          volumeTags: tags(DEDICATED_ROUTER_NODE, "router", 0),
        },
        child,
      );
      routers.push(host("router", 0, DEDICATED_ROUTER_NODE, router.privateIp, router.publicIp));
    }

    this.hosts = [...nodes, ...routers];
    this.securityGroupId = sg.id;
    this.placementGroupName = pg.name;
    this.registerOutputs({ hosts: hostInfos(this.hosts), securityGroupId: this.securityGroupId, placementGroupName: this.placementGroupName });
  }

  /** A subnet of the VPC in a zone that offers the Gaudi instance type (dl1 is only in a few zones). */
  private subnetOffering(infra: AwsInfra, vpcId: pulumi.Output<string>, opts: pulumi.InvokeOutputOptions): pulumi.Output<string> {
    const zones = aws.ec2.getInstanceTypeOfferingsOutput(
      { locationType: "availability-zone", filters: [{ name: "instance-type", values: [infra.instanceType] }] },
      opts,
    ).locations;
    const subnets = aws.ec2.getSubnetsOutput(
      {
        filters: [
          { name: "vpc-id", values: [vpcId] },
          { name: "availability-zone", values: zones },
        ],
      },
      opts,
    ).ids;
    return pulumi.all([subnets, vpcId, zones]).apply(([ids, vpc, zs]) => chooseSubnet(ids, vpc, infra.instanceType, zs));
  }
}
