// Network-namespace test hosts (no init system: the host runtime's supervised mode): per host a PID namespace whose
// PID 1 is a small bash init that bind-mounts the host's own state, log, home and /run directories and runs sshd.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { runOk } from "../../cli/processes";
import { HOST_LOG_DIR, HOST_STATE_DIR, HostBackend, HostFiles, StartedHost, TestHost } from "./hostKinds";

const SSHD = "/usr/sbin/sshd";

/**
 * PID 1 of a host: its host name, private mounts for the state, log, home and /run directories, then sshd. It reaps
 * orphans (daemonized supervisors) while it waits, and when sshd exits the kernel ends the whole host.
 * Arguments 7… are paths under /root bound read-only into the host's own /root before it hides the real one.
 */
const HOST_INIT = `set -eu
hostname "$6"
mount --bind "$1" ${HOST_STATE_DIR}
mount --bind "$2" ${HOST_LOG_DIR}
for share in "\${@:7}"; do
  mkdir -p "$3/\${share#/root/}"
  mount --bind -o ro "$share" "$3/\${share#/root/}"
done
mount --rbind "$3" /root
mount -t tmpfs -o mode=0755,size=64m tmpfs /run
install -d -m 0755 /run/sshd
${SSHD} -D -f "$4" -E "$5" &
wait $!
`;

function sshdConfig(h: TestHost, dir: string, files: HostFiles): string {
  // The stand-in and the router are found on PATH, as real vllm and vllm-router would be on a real host.
  const searchPath = [
    ...new Set([files.bin, "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin", path.dirname(process.execPath)]),
  ];
  return [
    `ListenAddress ${h.address}:22`,
    `HostKey ${dir}/ssh_host_ed25519_key`,
    `PidFile none`,
    `AuthorizedKeysFile ${files.authorizedKeys}`,
    `PermitRootLogin prohibit-password`,
    `PubkeyAuthentication yes`,
    `PasswordAuthentication no`,
    `KbdInteractiveAuthentication no`,
    `UsePAM no`,
    `StrictModes no`,
    `UseDNS no`,
    // Node groups start concurrently; keep sshd from refusing the burst.
    `MaxStartups 100`,
    `MaxSessions 100`,
    `SetEnv PATH=${searchPath.join(":")}`,
    `LogLevel INFO`,
    "",
  ].join("\n");
}

/** Paths under /root that hosts need (repo, router venv, Python, Node.js): each host's own /root would hide them. */
function homeShares(files: HostFiles): string[] {
  return [...new Set([...files.shares, path.dirname(path.dirname(files.node))])].filter((p) => p.startsWith("/root/"));
}

export const netnsHosts: HostBackend = {
  kind: "netns",
  async preflight() {
    return fs.existsSync(SSHD) ? [] : [`${SSHD} not found: apt-get install openssh-server`];
  },
  paths(dir) {
    return { stateDir: path.join(dir, "state"), logDir: path.join(dir, "log") };
  },
  async start(h: TestHost, dir: string, files: HostFiles): Promise<StartedHost> {
    const home = path.join(dir, "home");
    for (const d of [h.stateDir, h.logDir, home]) fs.mkdirSync(d, { recursive: true });
    fs.mkdirSync(HOST_STATE_DIR, { recursive: true });
    fs.mkdirSync(HOST_LOG_DIR, { recursive: true });
    await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "ssh_host_ed25519_key")]);
    const config = path.join(dir, "sshd_config");
    fs.writeFileSync(config, sshdConfig(h, dir, files));
    const log = fs.openSync(path.join(dir, "init.log"), "a");
    const init = spawn(
      "ip",
      [
        "netns",
        "exec",
        h.name,
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--uts",
        "--pid",
        "--fork",
        "--mount-proc",
        "bash",
        "-c",
        HOST_INIT,
        "init",
        h.stateDir,
        h.logDir,
        home,
        config,
        path.join(dir, "sshd.log"),
        h.name,
        ...homeShares(files),
      ],
      { detached: true, stdio: ["ignore", log, log] },
    );
    init.unref();
    fs.closeSync(log);
    return { logs: ["init.log", "sshd.log"].map((f) => path.join(dir, f)) };
  },
};
