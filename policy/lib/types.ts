// The resource type tokens the pack looks at, in one place; gaudi-pd's own come from the names module.
import { COMPONENT_TYPES, REMOTE_COMMAND_TYPE } from "../../components/names";

export const T = {
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  vpcIngressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  instance: "aws:ec2/instance:Instance",
  launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
  ebsVolume: "aws:ebs/volume:Volume",
  placementGroup: "aws:ec2/placementGroup:PlacementGroup",
  networkInterface: "aws:ec2/networkInterface:NetworkInterface",
  networkInterfaceAttachment: "aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment",
  remoteCommand: REMOTE_COMMAND_TYPE,
  localCommand: "command:local:Command",
  pdCluster: COMPONENT_TYPES.pdCluster,
  pdServing: COMPONENT_TYPES.pdServing,
} as const;
