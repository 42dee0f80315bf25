#!/usr/bin/env bash
# Usage: install-venv-tool.sh VENV PACKAGE VERSION EXECUTABLE. Installs the pinned PACKAGE from PyPI into <repo>/VENV
# (first use only) and prints the path of its EXECUTABLE last. Progress goes to stderr; stdout carries only the path.
set -euo pipefail

[[ $# -eq 4 ]] || { echo "usage: install-venv-tool.sh VENV PACKAGE VERSION EXECUTABLE" >&2; exit 2; }
NAME=$2
VERSION=$3
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/$1"
EXE="$VENV/bin/$4"
say() { echo "install $NAME: $*" >&2; }

installed() {
  [[ -x "$EXE" && -x "$VENV/bin/python" ]] &&
    compgen -G "$VENV/lib/python3*/site-packages/${NAME//-/_}-$VERSION.dist-info" >/dev/null
}

if ! installed; then
  # Concurrent first runs (parallel tests) wait for one another instead of sharing a half-built venv.
  exec 9<"${BASH_SOURCE[0]}"
  flock 9
fi
if ! installed; then
  command -v python3 >/dev/null || { say "python3 not found: apt-get install python3 python3-venv"; exit 1; }
  say "installing $NAME $VERSION into $VENV (first use only, about 20 s)"
  if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv --clear "$VENV" >&2 || {
      rm -rf "$VENV"
      say "'python3 -m venv' failed: apt-get install python3-venv"
      exit 1
    }
  fi
  # Local pip config (config files, PIP_FIND_LINKS) may point at wheel directories; take the pin from the index only.
  env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null \
    "$VENV/bin/python" -m pip install --progress-bar off --disable-pip-version-check "$NAME==$VERSION" 2>&1 |
    sed -u "s/^/install $NAME: /" >&2
  installed || { say "$NAME $VERSION not found in $VENV after pip install"; exit 1; }
  say "installed $EXE"
fi

echo "$EXE"
