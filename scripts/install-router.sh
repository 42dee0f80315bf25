#!/usr/bin/env bash
# Installs the pinned vllm-router from PyPI into <repo>/.venv-router and prints its executable path last.
# Progress goes to stderr (the first install takes about 20 s); stdout carries only the path.
set -euo pipefail

VERSION=0.1.17
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-router"
EXE="$VENV/bin/vllm-router"

installed() {
  [[ -x "$EXE" && -x "$VENV/bin/python" ]] &&
    compgen -G "$VENV/lib/python3*/site-packages/vllm_router-$VERSION.dist-info" >/dev/null
}

if ! installed; then
  # Concurrent first runs (parallel tests) wait for one another instead of sharing a half-built venv.
  exec 9<"${BASH_SOURCE[0]}"
  flock 9
fi
if ! installed; then
  command -v python3 >/dev/null || { echo "install-router: python3 not found: apt-get install python3 python3-venv" >&2; exit 1; }
  echo "install-router: installing vllm-router $VERSION into $VENV (first use only, about 20 s)" >&2
  if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv --clear "$VENV" >&2 || {
      rm -rf "$VENV"
      echo "install-router: 'python3 -m venv' failed: apt-get install python3-venv" >&2
      exit 1
    }
  fi
  # Local pip config (config files, PIP_FIND_LINKS) may point at wheel directories; take the pin from the index only.
  env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null \
    "$VENV/bin/python" -m pip install --progress-bar off --disable-pip-version-check "vllm-router==$VERSION" 2>&1 |
    sed -u 's/^/install-router: /' >&2
  installed || { echo "install-router: vllm-router $VERSION not found in $VENV after pip install" >&2; exit 1; }
  echo "install-router: installed $EXE" >&2
fi

echo "$EXE"
