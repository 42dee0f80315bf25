// The host script shared by nodes and the router: a list of long-running services, baked into one bash
// script with the verbs install | start | wait | stop | uninstall | status (runtime in ./host/*.sh, data rendered here).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { systemdUnit, unitStateDir } from "../names";
import { shellQuote } from "./shellQuote";

/** One long-running process on the host: a vLLM instance or the router. */
export interface HostService {
  /** Its file and systemd instance name on the host (`decode-1`, `vllm-router`). */
  readonly key: string;
  /** How messages and status lines name it (`pd-0 decode instance 1`). */
  readonly description: string;
  /** One comment line shown above its data (ports, ranks, HPUs). */
  readonly summary: string;
  readonly port: number;
  /** Polled by wait and status; ready when it answers 200. */
  readonly healthUrl: string;
  readonly env: Readonly<Record<string, string>>;
  readonly argv: readonly string[];
  /** Its log is `logPrefix + <YYYYMMDD_HHMMSS of the start> + logSuffix`. */
  readonly logPrefix: string;
  readonly logSuffix: string;
}

export interface HostRuntime {
  /** Comment lines at the top of the script, under the shebang. */
  readonly header: readonly string[];
  /** Names the host's state subdirectory and systemd unit (`pd-0`, `router`). */
  readonly unit: string;
  readonly stateDir: string;
  readonly logDir: string;
  /** The HF token env file the services read, or null when the topology has no token. */
  readonly hfTokenFile: string | null;
  readonly healthTimeoutSecs: number;
  /** Every port the services listen on: stop returns only once none of them is bound. */
  readonly ports: readonly number[];
  readonly services: readonly HostService[];
  /** Extra baked variables `runtimePath` reads. */
  readonly vars: Readonly<Record<string, string>>;
  /** Bash defining `runtime_path`: checks or installs the services' command and prints the PATH they run with. */
  readonly runtimePath: string;
  /** Bash defining `before_start`: what start does once before it starts any service (a node fetches its model). */
  readonly beforeStart: string;
}

/** Restart policy of both modes, systemd's Restart=on-failure, RestartSec, StartLimitBurst and StartLimitIntervalSec. */
const RESTART = { delaySecs: 1, burst: 5, intervalSecs: 60 } as const;
/** Seconds between SIGTERM and SIGKILL when stopping (systemd's TimeoutStopSec). */
const STOP_GRACE_SECS = 30;
/** Seconds between two rounds of health polls in wait: a quarter second, so `up` learns of a healthy instance at once. */
const POLL_SECS = 0.25;
/** Lines of an instance's log wait shows when it fails. */
const LOG_TAIL_LINES = 30;
const SYSTEMD_UNIT_DIR = "/etc/systemd/system";

const asset = (name: string) => readFileSync(join(__dirname, "host", name), "utf8");
const RUNTIME = asset("runtime.sh");
const LAUNCHER = asset("launch.sh");
const SUPERVISOR = asset("supervise.sh");
const HEREDOC_END = "GAUDI_PD_EOF";

/** A comment line: a value in it is already quoted, and a line break in the text cannot start a command. */
const commentLine = (text: string) => (text ? `# ${text.replace(/[\r\n\u2028\u2029]/g, " ")}` : "#");

const readonlyVar = (name: string, value: string | number) => `readonly ${name}=${shellQuote(String(value))}`;
const readonlyArray = (name: string, values: readonly (string | number)[]) =>
  `readonly ${name}=(${values.map((v) => shellQuote(String(v))).join(" ")})`;

/** A `case` over service keys printing each service's words one per line; `lines` groups them for reading. */
function caseFunction(
  name: string,
  doc: string,
  lines: (s: HostService) => readonly (readonly string[])[],
  services: readonly HostService[],
): string {
  const arms = services.map((s) => {
    const rows = lines(s).map((words) => `        ${words.map(shellQuote).join(" ")}`);
    const body = rows.length ? [`      printf '%s\\n' \\`, rows.join(" \\\n")] : ["      true"];
    return [`    ${s.key})`, `      ${commentLine(s.summary)}`, ...body, "      ;;"].join("\n");
  });
  const literalDollar = services.some((s) => lines(s).some((words) => words.some((w) => /[$`]/.test(w))));
  const directive = literalDollar ? ["# shellcheck disable=SC2016 # the values are literal: a $ or ` in one expands nothing"] : [];
  return [...directive, `${name}() { # KEY: ${doc}`, "  case $1 in", ...arms, "  esac", "}"].join("\n");
}

/** Argv words grouped for reading: the command, then each option with its values. */
function argvRows(argv: readonly string[]): string[][] {
  const rows: string[][] = [];
  argv.forEach((w, k) => (k === 0 || w.startsWith("-") ? rows.push([w]) : rows[rows.length - 1].push(w)));
  return rows;
}

function heredocFunction(name: string, doc: string, text: string): string {
  // An end marker no line of the text equals, so no text can end the heredoc early.
  const lines = new Set(text.split("\n"));
  let end = HEREDOC_END;
  while (lines.has(end)) end += "_";
  return `${name}() { # ${doc}\n  cat <<'${end}'\n${text.endsWith("\n") ? text : `${text}\n`}${end}\n}`;
}

/** The systemd template unit: instance `%i` is a service key. */
function unitText(rt: HostRuntime): string {
  const state = unitStateDir(rt.stateDir, rt.unit);
  return [
    `# gaudi-pd ${rt.unit}: one service per instance, ${systemdUnit(rt.unit)}@KEY.service. Written by the host script's install.`,
    "[Unit]",
    `Description=gaudi-pd ${rt.unit} %i`,
    "After=network-online.target",
    "Wants=network-online.target",
    `StartLimitIntervalSec=${RESTART.intervalSecs}`,
    `StartLimitBurst=${RESTART.burst}`,
    "",
    "[Service]",
    "Type=simple",
    ...(rt.hfTokenFile ? [`EnvironmentFile=-${rt.hfTokenFile}`] : []),
    `ExecStart=/bin/bash ${state}/launch.sh %i journal`,
    "Restart=on-failure",
    `RestartSec=${RESTART.delaySecs}`,
    "# SIGTERM to the instance, SIGKILL to all that is left after the grace period: what supervised mode does.",
    "KillMode=mixed",
    `TimeoutStopSec=${STOP_GRACE_SECS}`,
    "# NIXL/UCX register KV-cache buffers with the NIC: locked memory must not be capped.",
    "LimitMEMLOCK=infinity",
    "LimitNOFILE=1048576",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The whole host script. Pure: equal inputs give byte-identical output. */
export function renderHostScript(rt: HostRuntime): string {
  const state = unitStateDir(rt.stateDir, rt.unit);
  const sv = rt.services;
  const usage = [
    "#",
    "# Usage: bash SCRIPT VERB [VERB...], VERB = install | start | wait | stop | uninstall | status, run in order, stopping at",
    "# the first failure. Exit status: 0 done, 1 a verb failed, 2 usage error, 3 status found an unhealthy service.",
    "# status --porcelain prints KEY STATE RESTARTS HTTP-STATUS PORT per service, tab-separated, for gaudi-pd status.",
    "# Environment: GAUDI_PD_WAIT_TIMEOUT=<seconds> bounds wait; GAUDI_PD_MODE=systemd|supervised overrides install's",
    "# choice (systemd when it is PID 1). Supervised mode restarts a service that exits non-zero, like systemd does.",
    `# On the host: ${state}/ holds mode, launch.sh, supervise.sh and per service KEY.env (0600), KEY.argv,`,
    `# KEY.log-path, KEY.pid, KEY.supervisor.pid, KEY.restarts; systemd mode adds ${SYSTEMD_UNIT_DIR}/${systemdUnit(rt.unit)}@.service.`,
    `# Logs: ${rt.logDir}/ (a new file per start; restarts append to it).`,
  ];
  const data = [
    "# ---- This host. Every value is baked in by gaudi-pd: change the topology, not this file. ----",
    readonlyVar("UNIT", rt.unit),
    readonlyVar("STATE_ROOT", rt.stateDir),
    readonlyVar("STATE", state),
    readonlyVar("LOG_DIR", rt.logDir),
    readonlyVar("HF_TOKEN_FILE", rt.hfTokenFile ?? ""),
    readonlyVar("HEALTH_TIMEOUT", rt.healthTimeoutSecs),
    readonlyVar("POLL_SECS", POLL_SECS),
    readonlyVar("LOG_TAIL_LINES", LOG_TAIL_LINES),
    readonlyVar("STOP_GRACE_SECS", STOP_GRACE_SECS),
    readonlyVar("RESTART_DELAY_SECS", RESTART.delaySecs),
    readonlyVar("START_LIMIT_BURST", RESTART.burst),
    readonlyVar("START_LIMIT_INTERVAL_SECS", RESTART.intervalSecs),
    readonlyVar("UNIT_DIR", SYSTEMD_UNIT_DIR),
    readonlyVar("SYSTEMD_UNIT", systemdUnit(rt.unit)),
    ...Object.entries(rt.vars).map(([k, v]) => readonlyVar(k, v)),
    "# Every port the services listen on; stop returns only once none is bound.",
    readonlyArray("BOUND_PORTS", rt.ports),
    "",
    "# One entry per service, at the same index in every array.",
    readonlyArray(
      "KEYS",
      sv.map((s) => s.key),
    ),
    readonlyArray(
      "DESCRIPTIONS",
      sv.map((s) => s.description),
    ),
    readonlyArray(
      "PORTS",
      sv.map((s) => s.port),
    ),
    readonlyArray(
      "HEALTH_URLS",
      sv.map((s) => s.healthUrl),
    ),
    readonlyArray(
      "LOG_PREFIXES",
      sv.map((s) => s.logPrefix),
    ),
    readonlyArray(
      "LOG_SUFFIXES",
      sv.map((s) => s.logSuffix),
    ),
  ];
  return [
    ["#!/usr/bin/env bash", ...rt.header.map(commentLine), ...usage].join("\n"),
    "set -euo pipefail\nshopt -s inherit_errexit\numask 022",
    data.join("\n"),
    caseFunction("env_of", "the service's environment, one NAME=VALUE per line", (s) => Object.entries(s.env).map(([k, v]) => [`${k}=${v}`]), sv),
    caseFunction("argv_of", "the service's command, one word per line", (s) => argvRows(s.argv), sv),
    heredocFunction("unit_text", "the systemd template unit (systemd mode)", unitText(rt)),
    heredocFunction("launcher_text", "launch.sh, installed in the state directory", LAUNCHER),
    heredocFunction("supervisor_text", "supervise.sh, installed in the state directory (supervised mode)", SUPERVISOR),
    rt.runtimePath.trimEnd(),
    rt.beforeStart.trimEnd(),
    RUNTIME.trimEnd(),
    // One line, so bash has read it before main runs: a script replaced while running cannot derail it.
    'main "$@"; exit',
    "",
  ].join("\n\n");
}
