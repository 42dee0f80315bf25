#!/usr/bin/env bash
# Installs the pinned vllm-router from PyPI into <repo>/.venv-router and prints its executable path last.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/install-venv-tool.sh" .venv-router vllm-router 0.1.17 vllm-router
