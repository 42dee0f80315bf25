// The resource type tokens the pack looks at, in one place.
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
  remoteCommand: "command:remote:Command",
  localCommand: "command:local:Command",
  pdCluster: "gaudi-pd:index:PdCluster",
  pdServing: "gaudi-pd:index:PdServing",
} as const;
