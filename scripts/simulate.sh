#!/usr/bin/env bash
# The README's first command: install what `gaudi-pd simulate` needs and this machine lacks (the npm packages, venv
# for the pinned vllm-router and huggingface_hub's hf, which simulate then installs on first use), then run it. Without arguments it simulates
# the seed's single-node setup; any arguments go to `gaudi-pd simulate` (e.g. --stack multi-node --requests 200).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { echo "simulate.sh: $*" >&2; }

NODE_MIN="$(sed -n 's/.*"node": ">=\([0-9.]*\)".*/\1/p' package.json)"
command -v node >/dev/null || { say "node not found: install Node.js $NODE_MIN or newer (apt-get install nodejs npm)"; exit 1; }
node -e "process.exit(Number(+process.versions.node.split('.')[0] < +'$NODE_MIN'.split('.')[0]))" ||
  { say "node $(node --version) is too old: install Node.js $NODE_MIN or newer"; exit 1; }

if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing the npm packages (npm ci)"
  npm ci --no-audit --no-fund >&2
fi

# Debian's python3 creates virtualenvs only with python3-venv installed.
if [[ ! -x .venv-router/bin/vllm-router || ! -x .venv-hf/bin/hf ]] && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null; then
    say "installing python3-venv (apt-get) for the vllm-router and hf virtualenvs"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv </dev/null >&2
  else
    say "python3 with venv is needed for vllm-router and hf: apt-get install python3 python3-venv"
    exit 1
  fi
fi

exec node cli/gaudi-pd.js simulate "$@"
