#!/usr/bin/env bash
# Debug wrapper around the test-host harness (root only): up [--systemd] <gpd-name>… | ssh <gpd-name> [command…] | down.
# `up` prints the private key and each host's address: any SSH client reaches root@ADDRESS with that key.
# --systemd boots systemd hosts (systemd-nspawn; the Debian tree from scripts/build-rootfs.sh, cached).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec node --import tsx "$ROOT/test/harness/cli.ts" "$@"
