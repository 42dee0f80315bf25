// Manual access to test hosts for debugging: `up [--systemd] <names…>` leaves them running, `ssh <name> [cmd]`, `down`.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { cleanupTestHosts, TestHosts } from "./testHosts";

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const systemd = rest[0] === "--systemd";
  const names = systemd ? rest.slice(1) : rest;
  if (verb === "up" && names.length) {
    const hosts = await TestHosts.start(names, path.resolve(__dirname, "..", ".."), { kind: systemd ? "systemd" : "netns" });
    console.log(`key ${hosts.keyPath}`);
    for (const h of hosts.hosts) console.log(`${h.name}\t${h.address}\t${h.kind}\tstate ${h.stateDir}\tlog ${h.logDir}`);
    return 0;
  }
  if (verb === "down") {
    await cleanupTestHosts();
    return 0;
  }
  if (verb === "ssh" && rest.length) {
    const [name, ...command] = rest;
    const [ssh, ...args] = TestHosts.attach().sshArgv(name);
    return spawnSync(ssh, [...args, ...(command.length ? ["--", command.join(" ")] : [])], { stdio: "inherit" }).status ?? 1;
  }
  console.error("usage: test-hosts.sh up [--systemd] <gpd-name>… | ssh <gpd-name> [command…] | down");
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(e.message);
    process.exit(1);
  },
);
