// Property: a hostile string in any string field of the topology is refused at parse time naming that field, or
// every rendered node and router script passes `bash -n` and running its `status` verb creates no marker file.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { planCluster } from "../components/plan";
import { ConfigError } from "../components/problems";
import { renderNodeScript } from "../components/render/nodeScript";
import { renderRouterScript } from "../components/render/routerScript";
import { parseTopology } from "../components/topology";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "gaudi-pd-hostile-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const MARK = path.join(work, "marker");

/** Pieces an attacker would try: quoting, substitution, separators, line breaks, options, unicode. */
const PIECES = [
  "'",
  '"',
  "\\",
  `$(touch ${MARK})`,
  `\`touch ${MARK}\``,
  `; touch ${MARK}`,
  `\ntouch ${MARK}\n`,
  `\r\ntouch ${MARK}`,
  "&&",
  "|",
  "-",
  "--help",
  "-oProxyCommand=touch",
  " ",
  "\t",
  "%i",
  "$HOME",
  "${IFS}",
  "é",
  "ǅ",
  "\u2028",
  "\u0000",
  "GAUDI_PD_EOF",
  "\nGAUDI_PD_EOF\n",
  "/",
  "..",
  "*",
  "#",
];
const hostile = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 8 }), fc.string({ unit: "grapheme", maxLength: 4 })), {
        minLength: 1,
        maxLength: 6,
      })
      .map((a) => a.join("")),
  },
  { weight: 1, arbitrary: fc.constantFrom("a".repeat(100 * 1024), `/${"b".repeat(100 * 1024)}`, `x\n${"c".repeat(100 * 1024)}`) },
);

type Raw = Record<string, any>;
const base = (): Raw => ({
  logDir: path.join(work, "log"),
  stateDir: path.join(work, "state"),
  hfCacheDir: path.join(work, "hf"),
  env: { EXTRA: "1" },
  router: { placement: "dedicated" },
  infra: {
    kind: "hosts",
    prefill: [{ address: "192.0.2.10", privateAddress: "10.0.0.10", user: "ubuntu" }],
    decode: [{ address: "192.0.2.11" }],
    router: { address: "192.0.2.12" },
  },
});

/** Every string field of the topology: how to set it, and the path a refusal must name. */
const FIELDS: Array<[string, (raw: Raw, v: string) => void]> = [
  ["model", (r, v) => (r.model = v)],
  ["logDir", (r, v) => (r.logDir = v)],
  ["stateDir", (r, v) => (r.stateDir = v)],
  ["hfCacheDir", (r, v) => (r.hfCacheDir = v)],
  ["vllmCommand", (r, v) => (r.vllmCommand = v)],
  ["incConfig", (r, v) => (r.incConfig = v)],
  ["recipeCacheDir", (r, v) => (r.recipeCacheDir = v)],
  ["decode.incConfig", (r, v) => (r.decode = { incConfig: v })],
  ["env", (r, v) => (r.env = { [v]: "1" })],
  ["env.EXTRA", (r, v) => (r.env = { EXTRA: v })],
  ["prefill.env.EXTRA", (r, v) => (r.prefill = { env: { EXTRA: v } })],
  ["nixl.ucxTls", (r, v) => (r.nixl = { ucxTls: v })],
  ["router.bindAddress", (r, v) => (r.router.bindAddress = v)],
  ["router.placement", (r, v) => (r.router.placement = v)],
  ["infra.sshUser", (r, v) => (r.infra.sshUser = v)],
  ["infra.prefill[0].address", (r, v) => (r.infra.prefill[0].address = v)],
  ["infra.prefill[0].privateAddress", (r, v) => (r.infra.prefill[0].privateAddress = v)],
  ["infra.prefill[0].user", (r, v) => (r.infra.prefill[0].user = v)],
  ["infra.decode[0].address", (r, v) => (r.infra.decode[0].address = v)],
  ["infra.router.address", (r, v) => (r.infra.router.address = v)],
];

const bash = (args: string[]) =>
  spawnSync("bash", args, { cwd: work, encoding: "utf8", env: { PATH: process.env.PATH, GAUDI_PD_MODE: "supervised" }, timeout: 20_000 });
let runs = 0;
let rendered = 0;

for (const [field, set] of FIELDS) {
  test(`a hostile ${field} is refused naming it, or harmless in every script`, () => {
    fc.assert(
      fc.property(hostile, (value) => {
        runs++;
        const raw = base();
        set(raw, value);
        let scripts: string[];
        try {
          const topology = parseTopology(raw);
          const plan = planCluster(topology, { addresses: { "prefill-0": "10.0.0.10", "decode-0": "192.0.2.11", router: "192.0.2.12" } });
          scripts = [...plan.nodes.map((n) => renderNodeScript(plan, n.name)), renderRouterScript(plan)];
        } catch (e) {
          assert.ok(e instanceof ConfigError, `refused as config, not ${(e as Error).stack}`);
          const head = field.replace(/\..*$/, "");
          assert.ok(
            e.problems.some((p) => p.path === field || p.path.startsWith(head)),
            `names ${field}: ${JSON.stringify(e.problems).slice(0, 300)}`,
          );
          return;
        }
        rendered++;
        for (const [k, script] of scripts.entries()) {
          const file = path.join(work, `script-${k}.sh`);
          fs.writeFileSync(file, script);
          const syntax = bash(["-n", file]);
          assert.equal(syntax.status, 0, `bash -n: ${syntax.stderr}`);
          bash([file, "status"]);
          assert.ok(!fs.existsSync(MARK), `status of script ${k} created the marker for ${JSON.stringify(value).slice(0, 200)}`);
        }
      }),
      { numRuns: 15 },
    );
  });
}

test("the property ran for every field, and hostile values that pass were rendered and run", () => {
  assert.ok(runs >= FIELDS.length * 15, `${runs} runs`);
  // Env values accept any one-line text: those runs exercise the quoting, so some must reach the scripts.
  assert.ok(rendered > 0, `${rendered} of ${runs} runs rendered`);
  console.log(`# hostile-string property: ${runs} runs, ${rendered} rendered and run, ${runs - rendered} refused`);
});
