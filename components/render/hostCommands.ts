// The command texts `remote.Command` runs on a host. Scripts arrive on stdin; secrets arrive on stdin too,
// so no value worth hiding is ever part of a command line.
import { hfTokenFile, scriptPath, secretsDir } from "../names";
import { shellQuote } from "./shellQuote";

/** Create and delete texts of one remote command. */
export interface CommandText {
  readonly create: string;
  readonly delete: string;
}

/** Run as root: directly when already root, through non-interactive sudo otherwise. */
const AS_ROOT = 'S=""; [ "$(id -u)" = 0 ] || S="sudo -n"';

/** The token file's content; it only ever travels on stdin or is written straight to its 0600 file. */
export function hfTokenEnv(token: string): string {
  return `HF_TOKEN=${token}\n`;
}

/** Waits for a booting machine: succeeds once SSH answers and cloud-init (if any) has finished. */
export const READY_COMMAND = "if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait >/dev/null 2>&1 || true; fi; echo ready";

/** Write stdin to the script file of host unit `unit` (root's, 0600), then run it as root with `args`. */
function uploadAndRun(stateDir: string, unit: string, args: string): string {
  const path = shellQuote(scriptPath(stateDir, unit));
  return `set -eu; ${AS_ROOT}; $S install -d -m 0755 ${shellQuote(stateDir)}; $S sh -c ${shellQuote(`umask 077; cat > ${path}`)}; $S bash ${path}${args}`;
}

/**
 * Upload the script of host unit `unit` from stdin, then `install start wait`; delete runs `uninstall` (stop, then remove
 * what install wrote), removes the script, and the state directory once nothing else of gaudi-pd is in it. Logs stay.
 */
export function scriptCommands(stateDir: string, unit: string): CommandText {
  const path = shellQuote(scriptPath(stateDir, unit));
  return {
    create: uploadAndRun(stateDir, unit, " install start wait"),
    delete: `${AS_ROOT}; if [ -f ${path} ]; then $S bash ${path} uninstall && $S rm -f ${path}; fi && { $S rmdir ${shellQuote(stateDir)} 2>/dev/null || true; }`,
  };
}

/** Exit status of statusCommand when the unit's script is not on the host (never installed, or deleted). */
export const STATUS_NOT_INSTALLED = 4;

/** The unit's `status --porcelain` on its host, as `gaudi-pd status` runs it over SSH. */
export function statusCommand(stateDir: string, unit: string): string {
  const path = shellQuote(scriptPath(stateDir, unit));
  return `${AS_ROOT}; if [ -f ${path} ]; then $S bash ${path} status --porcelain; else exit ${STATUS_NOT_INSTALLED}; fi`;
}

/** Write the HF token env file from stdin (mode 0600); delete removes it, and its directory and the state directory when empty. */
export function hfTokenCommands(stateDir: string): CommandText {
  const file = shellQuote(hfTokenFile(stateDir));
  const dir = shellQuote(secretsDir(stateDir));
  return {
    create: `set -eu; ${AS_ROOT}; $S install -d -m 0700 ${dir}; $S sh -c ${shellQuote(`umask 077; cat > ${file}`)}`,
    delete: `${AS_ROOT}; $S rm -f ${file} && { $S rmdir ${dir} ${shellQuote(stateDir)} 2>/dev/null || true; }`,
  };
}

/** Upload the verify script from stdin and run it once; delete removes it, and the state directory once it is empty. */
export function verifyCommands(stateDir: string, name: string): CommandText {
  return {
    create: uploadAndRun(stateDir, name, ""),
    delete: `${AS_ROOT}; $S rm -f ${shellQuote(scriptPath(stateDir, name))} && { $S rmdir ${shellQuote(stateDir)} 2>/dev/null || true; }`,
  };
}
