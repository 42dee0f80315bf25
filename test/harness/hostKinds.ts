// What the two kinds of test host share: the host record, the files every host of a run reads, and the interface
// each kind implements (network-namespace hosts in ./netnsHost, systemd-nspawn hosts in ./systemdHost).

/** The directories each host has (the topology's default stateDir and logDir). */
export const HOST_STATE_DIR = "/var/lib/gaudi-pd";
export const HOST_LOG_DIR = "/var/log/gaudi-pd";

/** `netns`: no init system (the supervised branch); `systemd`: systemd as PID 1 (the systemd branch). */
export type HostKind = "netns" | "systemd";

export interface TestHost {
  /** Host name, also its network namespace name (`gpd-prefill-0`). */
  readonly name: string;
  readonly address: string;
  readonly kind: HostKind;
  /** Where this host's /var/lib/gaudi-pd and /var/log/gaudi-pd live, seen from the test process. */
  readonly stateDir: string;
  readonly logDir: string;
}

/** Files of a run that every host reads, on this machine. */
export interface HostFiles {
  /** The repository root (the stand-in, the rootfs recipe). */
  readonly repo: string;
  readonly authorizedKeys: string;
  /** Holds `vllm` (the stand-in), `vllm-router` and `node`, as symlinks to the paths below. */
  readonly bin: string;
  /** Real paths hosts need to see at the same path: the repository, the router's virtualenv and its Python. */
  readonly shares: readonly string[];
  /** The real path of the Node.js executable running the stand-in. */
  readonly node: string;
}

export interface StartedHost {
  /** Files that explain a host that does not answer SSH. */
  readonly logs: readonly string[];
}

export interface HostBackend {
  readonly kind: HostKind;
  /** What stops this kind of host from starting on this machine, one line each. */
  preflight(): Promise<string[]>;
  /** The host's state and log directories as the test process sees them, given its run directory. */
  paths(dir: string): { stateDir: string; logDir: string };
  /** Boot the host; its network namespace with `eth0` at its address exists already. */
  start(h: TestHost, dir: string, files: HostFiles): Promise<StartedHost>;
}
