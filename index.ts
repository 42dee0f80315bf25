// The Pulumi program: the stack's gaudi-pd config → one PdCluster. Bad config stops here, before any resource,
// one line per problem and no stack trace.
import * as pulumi from "@pulumi/pulumi";
import { PdCluster } from "./components/pdCluster";
import { CONFIG_NAMESPACE, HF_TOKEN_KEY, rawTopologyFromConfig } from "./components/stackConfig";
import { TopologyError } from "./components/topology";

/** The config key of the SSH private key (a secret): a credential, not part of the topology. */
const SSH_PRIVATE_KEY = "sshPrivateKey";

function build(): PdCluster {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  const entries = Object.entries(pulumi.runtime.allConfig()).filter(([key]) => key !== `${CONFIG_NAMESPACE}:${SSH_PRIVATE_KEY}`);
  try {
    return new PdCluster("gaudi-pd", {
      topology: rawTopologyFromConfig(Object.fromEntries(entries)),
      hfToken: config.getSecret(HF_TOKEN_KEY),
      sshPrivateKey: config.getSecret(SSH_PRIVATE_KEY),
    });
  } catch (e) {
    if (e instanceof TopologyError) throw new pulumi.RunError(e.problems.map((p) => `${CONFIG_NAMESPACE}:${p}`).join("\n"));
    throw e;
  }
}

const cluster = build();
export const routerUrl = cluster.routerUrl;
export const nodes = cluster.nodes;
export const endpoints = cluster.endpoints;
