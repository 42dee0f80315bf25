// How the engine tests decide what is missing: a stand-in `pulumi` and language host on PATH, a stand-in plugin
// cache, and the one line a skip prints.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { atLeast, COMMAND_PROVIDER_VERSION, POLICY_LANGHOST_VERSION, pulumiInstall } from "./helpers/pulumiInstall";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "gaudi-pd-pulumi-install-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** A machine with a `pulumi` whose plugin cache lists `plugins`, and a language host printing `langVersion` (null: no -version flag). */
function machine(name: string, plugins: object[], langVersion: string | null): NodeJS.ProcessEnv {
  const bin = path.join(work, name, "bin");
  const home = path.join(work, name, "home");
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(path.join(home, "plugins"), { recursive: true });
  const script = (file: string, body: string) => fs.writeFileSync(path.join(bin, file), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  script("pulumi", `[ "$1 $2 $3" = "plugin ls --json" ] && [ "$PULUMI_HOME" = '${home}' ] && printf '%s' '${JSON.stringify(plugins)}'`);
  script(
    "pulumi-language-nodejs",
    langVersion ? `[ "$1" = -version ] && echo ${langVersion}` : `echo "flag provided but not defined: $1" >&2; exit 2`,
  );
  return { PATH: `${bin}:/usr/bin:/bin`, PULUMI_HOME: home };
}

function withEnv<T>(env: NodeJS.ProcessEnv, f: () => T): T {
  const saved = { PATH: process.env.PATH, PULUMI_HOME: process.env.PULUMI_HOME };
  Object.assign(process.env, env);
  try {
    return f();
  } finally {
    Object.assign(process.env, saved);
  }
}

const provider = { name: "command", kind: "resource", version: COMMAND_PROVIDER_VERSION };

test("versions compare by number, not as text", () => {
  assert.ok(atLeast("v3.259.0", POLICY_LANGHOST_VERSION));
  assert.ok(atLeast("3.221.0", "v3.221.0"));
  assert.ok(!atLeast("v3.68.0", "3.221.0"));
  assert.ok(atLeast("v10.0.0", "v9.99.99"));
  assert.ok(!atLeast("not a version", "1.0.0"));
});

test("the provider at the pinned version and a new language host: nothing is missing", () => {
  const got = withEnv(machine("complete", [provider], "v3.259.0"), pulumiInstall);
  assert.equal(got.missing, null);
  assert.equal(got.cli, path.join(work, "complete", "bin", "pulumi"));
  assert.equal(got.pluginDir, path.join(work, "complete", "home", "plugins"));
});

test("a provider at another version and an old language host are both named in one line", () => {
  const got = withEnv(machine("stale", [{ ...provider, version: "0.9.0" }], "v3.200.0"), pulumiInstall);
  assert.ok(got.missing, "something is missing");
  assert.doesNotMatch(got.missing, /\n/);
  assert.match(got.missing, new RegExp(`the command provider ${COMMAND_PROVIDER_VERSION.replace(/\./g, "\\.")} `));
  assert.match(got.missing, /pulumi-language-nodejs is v3\.200\.0\)/);
});

test("a language host too old to print its version is reported as older, the provider as present", () => {
  const got = withEnv(machine("ancient", [provider], null), pulumiInstall);
  assert.match(got.missing ?? "", /^\S+\/pulumi lacks a Node\.js language host that runs policy packs .* has no -version flag, so it is older\)$/);
});
