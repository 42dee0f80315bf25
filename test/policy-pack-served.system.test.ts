// The pack as the Pulumi CLI meets it: policy/index.ts started as its own process (as `--policy-pack policy`
// does), spoken to over the analyzer gRPC protocol: its policy list, a configured policy, a violation, a
// remediation and a stack check, all through @pulumi/policy's real server.
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import * as pb from "@pulumi/pulumi/proto/analyzer_pb";
import { policies } from "../policy/policies";
import { parseTopology } from "../components/topology";
import { isWireSecret } from "./helpers/policyHarness";

const services = require("@pulumi/pulumi/proto/analyzer_grpc_pb") as {
  AnalyzerClient: new (address: string, credentials: unknown) => Record<string, Function>;
};
/** A module as @pulumi/pulumi resolves it: the gRPC and protobuf copies its generated stubs use. */
const fromPulumi = (id: string) => require(require.resolve(id, { paths: [path.dirname(require.resolve("@pulumi/pulumi"))] }));
const grpc = fromPulumi("@grpc/grpc-js") as { credentials: { createInsecure(): unknown } };
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb") as { Empty: new () => unknown };
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb") as { Struct: { fromJavaScript(value: object): never } };

const PACK = path.resolve(__dirname, "..", "policy");
let pack: ChildProcess;
let client: Record<string, Function>;

/** Calls one analyzer RPC. */
const call = <T>(method: string, request: unknown): Promise<T> =>
  new Promise((resolve, reject) => client[method](request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));

const options = () => new pb.AnalyzerResourceOptions().setCustomtimeouts(new pb.AnalyzerResourceOptions.CustomTimeouts());
const urn = (type: string, name: string) => `urn:pulumi:test::gaudi-pd::${type}::${name}`;
const analyzeRequest = (type: string, name: string, props: object) =>
  new pb.AnalyzeRequest().setType(type).setName(name).setUrn(urn(type, name)).setProperties(Struct.fromJavaScript(props)).setOptions(options());
/** Policy, level and message of each diagnostic; the server puts the policy's description before the message. */
const diagnostics = (res: pb.AnalyzeResponse) => res.getDiagnosticsList().map((d) => [d.getPolicyname(), d.getEnforcementlevel(), d.getMessage()]);

before(async () => {
  pack = spawn(process.execPath, ["--import", "tsx", "index.ts"], { cwd: PACK, stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    pack.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    pack.once("exit", (code) => reject(new Error(`the pack exited (${code}) before serving`)));
  });
  assert.match(port, /^\d+$/, "the pack prints the port it serves on, as the CLI expects");
  client = new services.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

after(() => {
  client?.close();
  pack?.kill();
});

test("the pack serves as gaudi-pd-guard with every policy and its enforcement level", async () => {
  const info = await call<pb.AnalyzerInfo>("getAnalyzerInfo", new Empty());
  assert.equal(info.getName(), "gaudi-pd-guard");
  const levels = Object.fromEntries(Object.entries(pb.EnforcementLevel).map(([k, v]) => [v, k.toLowerCase()]));
  assert.deepEqual(
    info.getPoliciesList().map((p) => [p.getName(), levels[p.getEnforcementlevel()]]),
    policies.map((p) => [p.name, p.enforcementLevel]),
  );
});

test("a world-open SSH rule is a mandatory violation, and policy config allows it", async () => {
  const rule = analyzeRequest("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "ssh-in", {
    ipProtocol: "tcp",
    fromPort: 22,
    toPort: 22,
    cidrIpv4: "0.0.0.0/0",
  });
  assert.deepEqual(diagnostics(await call("analyze", rule)), [
    [
      "sg-ingress-ssh-and-router-only",
      pb.EnforcementLevel.MANDATORY,
      "Security-group ingress from addresses reaches only SSH and the router port, and not from the whole internet unless allowed.\n" +
        "ssh-in: opens SSH (tcp 22) to 0.0.0.0/0; limit it to infra.sshCidrs, or set allowPublicSsh: true in this policy's config",
    ],
  ]);
  const configure = new pb.ConfigureAnalyzerRequest();
  configure
    .getPolicyconfigMap()
    .set(
      "sg-ingress-ssh-and-router-only",
      new pb.PolicyConfig().setEnforcementlevel(pb.EnforcementLevel.MANDATORY).setProperties(Struct.fromJavaScript({ allowPublicSsh: true })),
    );
  await call("configure", configure);
  try {
    assert.deepEqual(diagnostics(await call("analyze", rule)), []);
  } finally {
    await call("configure", new pb.ConfigureAnalyzerRequest());
  }
});

test("the server hands the remediation a plain token on stdin, and the pack sends it back as a secret", async () => {
  const req = analyzeRequest("command:remote:Command", "decode-0-hf-token", {
    create: "cat > /tmp/t",
    stdin: "HF_TOKEN=hf_A1b2C3d4E5f6G7h8I9j0K1l2M3n4\n",
  });
  const res = await call<pb.RemediateResponse>("remediate", req);
  const remediations = res.getRemediationsList();
  assert.deepEqual(
    remediations.map((r) => r.getPolicyname()),
    ["no-plaintext-secrets-in-commands"],
  );
  const props = remediations[0].getProperties()!.toJavaScript() as Record<string, unknown>;
  assert.ok(isWireSecret(props.stdin), "stdin comes back as a secret");
  assert.equal(props.create, "cat > /tmp/t");
});

test("a stack whose registered topology cannot be planned is reported against its PdServing", async () => {
  const topology = parseTopology({
    prefill: { instancesPerNode: 2, tpSize: 2, nixl: { sideChannelLayout: "perTpWorker" } },
    infra: { kind: "aws", ami: { id: "ami-0123abcd" }, sshCidrs: ["203.0.113.0/24"] },
  });
  const type = "gaudi-pd:index:PdServing";
  const serving = new pb.AnalyzerResource()
    .setType(type)
    .setName("gaudi-pd")
    .setUrn(urn(type, "gaudi-pd"))
    .setOptions(options())
    .setProperties(Struct.fromJavaScript({ topology }));
  const found = diagnostics(await call("analyzeStack", new pb.AnalyzeStackRequest().setResourcesList([serving])));
  assert.ok(
    found.some(
      ([policy, level, message]) =>
        policy === "pd-plan-invariants" &&
        level === pb.EnforcementLevel.MANDATORY &&
        String(message).split("\n")[1].startsWith("gaudi-pd: prefill.nixl.sideChannelLayout: prefill-0 port 4301 is used by both"),
    ),
    JSON.stringify(found),
  );
});
