// Every policy of gaudi-pd-guard, in the order a report lists them; index.ts serves them as the pack.
import { Policies } from "@pulumi/policy";
import { commandSecrets } from "./commandSecrets";
import { efaClusterPlacement } from "./efaClusterPlacement";
import { gaudiGeneration, gaudiInstanceTypes } from "./gaudiInstances";
import { imdsv2Required } from "./imdsv2Required";
import { ingressFromTopology } from "./ingressFromTopology";
import { nixlTransportOnEfa } from "./nixlTransportOnEfa";
import { planInvariants } from "./planInvariants";
import { securityGroupIngress } from "./securityGroupIngress";
import { volumesEncrypted } from "./volumesEncrypted";

export const policies: Policies = [
  securityGroupIngress,
  ingressFromTopology,
  imdsv2Required,
  volumesEncrypted,
  gaudiInstanceTypes,
  gaudiGeneration,
  efaClusterPlacement,
  nixlTransportOnEfa,
  planInvariants,
  commandSecrets,
];
