// The Pulumi program: the stack's gaudi-pd config → one PdCluster. Bad config stops here, before any resource,
// one line per problem and no stack trace.
import * as pulumi from "@pulumi/pulumi";
import { PROGRAM_CLUSTER } from "./components/names";
import { PdCluster } from "./components/pdCluster";
import { CONFIG_NAMESPACE, HF_TOKEN_KEY, rawTopologyFromConfig, SSH_PRIVATE_KEY_KEY } from "./components/stackConfig";
import { ConfigError, formatProblem } from "./components/problems";

/** The stack's gaudi-pd keys set with --secret, besides the credentials (which are secrets by themselves). */
function secretTopologyKeys(): string[] {
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret;
  const credentials = [HF_TOKEN_KEY, SSH_PRIVATE_KEY_KEY].map((k) => `${CONFIG_NAMESPACE}:${k}`);
  return Object.keys(pulumi.runtime.allConfig()).filter((k) => k.startsWith(`${CONFIG_NAMESPACE}:`) && !credentials.includes(k) && isSecret(k));
}

function build(): PdCluster {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  try {
    return new PdCluster(PROGRAM_CLUSTER, {
      topology: rawTopologyFromConfig(pulumi.runtime.allConfig()),
      hfToken: config.getSecret(HF_TOKEN_KEY),
      sshPrivateKey: config.getSecret(SSH_PRIVATE_KEY_KEY),
      secretTopology: secretTopologyKeys().length > 0,
    });
  } catch (e) {
    if (e instanceof ConfigError) throw new pulumi.RunError(e.problems.map((p) => formatProblem(p, `${CONFIG_NAMESPACE}:`)).join("\n"));
    throw e;
  }
}

const cluster = build();
export const routerUrl = cluster.routerUrl;
export const nodes = cluster.nodes;
export const endpoints = cluster.endpoints;
export const metricsUrls = cluster.metricsUrls;
