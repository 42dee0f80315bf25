#!/usr/bin/env bash
# Installs the pinned huggingface_hub (its `hf` CLI fetches models on the nodes) from PyPI into <repo>/.venv-hf, for
# simulate and the tests, and prints the path of `hf` last. 2.x ships only `hf`, not the older `huggingface-cli`.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/install-venv-tool.sh" .venv-hf huggingface_hub 2.4.0 hf
