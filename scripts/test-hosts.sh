#!/usr/bin/env bash
# Debug wrapper around the e2e test-host harness (root only): up <gpd-name>… | ssh <gpd-name> [command…] | down.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec node --import tsx "$ROOT/test/harness/cli.ts" "$@"
