// What Pulumi installation this machine has, found the way the CLI finds it: the CLI on PATH (else the one
// scripts/install-pulumi.sh builds), plugins in PULUMI_HOME, the command provider and the Node.js language host
// on PATH or next to the CLI. Tests that need the whole engine ask `missingForEngine` and skip on its answer.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO } from "./runCli";

/** The command provider the program loads: @pulumi/command's pinned version (package.json). */
export const COMMAND_PROVIDER_VERSION: string = require("@pulumi/command/package.json").version;
/** The first Node.js language host that runs policy packs itself (analyzer plugins through @pulumi/pulumi/cmd/run-policy-pack). */
export const POLICY_LANGHOST_VERSION = "3.221.0";

export interface PulumiInstall {
  /** The `pulumi` executable, or null when there is none. */
  readonly cli: string | null;
  /** The plugin cache the CLI reads (PULUMI_HOME/plugins). */
  readonly pluginDir: string;
  /** What the engine tests need and this machine lacks, in one line; null when nothing is missing. */
  readonly missing: string | null;
}

const which = (name: string): string | null =>
  (process.env.PATH ?? "")
    .split(":")
    .map((d) => path.join(d || ".", name))
    .find(isExecutable) ?? null;

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

const semver = (v: string): number[] | null => {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v.trim());
  return m ? m.slice(1, 4).map(Number) : null;
};

/** a ≥ b for x.y.z versions. */
export function atLeast(a: string, b: string): boolean {
  const [x, y] = [semver(a), semver(b)];
  if (!x || !y) return false;
  const k = x.findIndex((n, i) => n !== y[i]);
  return k === -1 || x[k] > y[k];
}

interface CachedPlugin {
  readonly name: string;
  readonly kind: string;
  readonly version: string;
}

/** Plugins in the cache, as `pulumi plugin ls --json` lists them. */
function cachedPlugins(cli: string, home: string): CachedPlugin[] {
  const r = spawnSync(cli, ["plugin", "ls", "--json"], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, PULUMI_HOME: home, PULUMI_SKIP_UPDATE_CHECK: "true" },
  });
  if (r.status !== 0) return [];
  try {
    return JSON.parse(r.stdout) as CachedPlugin[];
  } catch {
    return [];
  }
}

/** The Node.js language host the CLI would start: on PATH first, next to the CLI, else the newest in the cache; and its version. */
function languageHost(cli: string, plugins: readonly CachedPlugin[], pluginDir: string): { file: string; version: string | null } | null {
  const name = "pulumi-language-nodejs";
  const cached = plugins.filter((p) => p.kind === "language" && p.name === "nodejs").sort((a, b) => (atLeast(a.version, b.version) ? -1 : 1))[0];
  const candidates = [
    which(name),
    path.join(path.dirname(fs.realpathSync(cli)), name),
    cached && path.join(pluginDir, `language-nodejs-v${cached.version.replace(/^v/, "")}`, name),
  ];
  const file = candidates.find((f): f is string => Boolean(f) && isExecutable(f as string));
  if (!file) return null;
  const r = spawnSync(file, ["-version"], { encoding: "utf8", timeout: 30_000 });
  return { file, version: r.status === 0 ? r.stdout.trim() : null };
}

/** This machine's Pulumi installation and what the engine tests lack of it. */
export function pulumiInstall(): PulumiInstall {
  const home = process.env.PULUMI_HOME || path.join(os.homedir(), ".pulumi");
  const pluginDir = path.join(home, "plugins");
  const built = path.join(REPO, ".tools", "bin", "pulumi");
  const cli = which("pulumi") ?? (isExecutable(built) ? built : null);
  if (!cli) return { cli, pluginDir, missing: `no Pulumi CLI: neither pulumi on PATH nor ${built} (scripts/install-pulumi.sh)` };

  const plugins = fs.existsSync(pluginDir) ? cachedPlugins(cli, home) : [];
  const lacks: string[] = [];
  const provider = plugins.some((p) => p.kind === "resource" && p.name === "command" && p.version.replace(/^v/, "") === COMMAND_PROVIDER_VERSION);
  if (!provider && !which("pulumi-resource-command"))
    lacks.push(`the command provider ${COMMAND_PROVIDER_VERSION} (neither in ${pluginDir} nor pulumi-resource-command on PATH)`);
  const host = languageHost(cli, plugins, pluginDir);
  if (!host) lacks.push("a Node.js language host (pulumi-language-nodejs)");
  else if (!host.version || !atLeast(host.version, POLICY_LANGHOST_VERSION))
    // -version arrived before v3.221.0, so a host without it is older still.
    lacks.push(
      `a Node.js language host that runs policy packs (v${POLICY_LANGHOST_VERSION} or later; ${host.file} ` +
        `${host.version ? `is ${host.version}` : "has no -version flag, so it is older"})`,
    );
  return { cli, pluginDir, missing: lacks.length ? `${cli} lacks ${lacks.join(" and ")}` : null };
}
