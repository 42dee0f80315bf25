#!/usr/bin/env bash
# Runs one test tier with a TMPDIR of its own, so nothing it writes stays in /tmp: tsx's compile cache (tsx-<uid>),
# the Pulumi SDK's ts-node cache (ts-node-<hash>) and any temporary directory a test fails to remove all land there.
# The tier fails if a test left anything but those caches behind; a failed tier keeps the directory and prints it.
set -euo pipefail
[[ $# -gt 0 ]] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
tier_tmp="$(mktemp -d "${TMPDIR:-/tmp}/gaudi-pd-tier-XXXXXX")"
# The same access as /tmp itself: whatever a test made there with its own mode keeps working here.
chmod 1777 "$tier_tmp"
status=0
TMPDIR="$tier_tmp" "$@" || status=$?
# The caches the tools write under TMPDIR by design; anything else is a test's leftover.
leftovers="$(find "$tier_tmp" -mindepth 1 -maxdepth 1 ! -name 'tsx-*' ! -name 'ts-node-*' -printf '  %f\n' | sort)"
if [[ $status -eq 0 && -n "$leftovers" ]]; then
  echo "test-tier.sh: the tests passed but left these in their TMPDIR $tier_tmp (remove them in the test that makes them):" >&2
  echo "$leftovers" >&2
  status=1
fi
if [[ $status -eq 0 ]]; then rm -rf "$tier_tmp"; else echo "test-tier.sh: kept $tier_tmp (the failed tier's temporary files)" >&2; fi
exit "$status"
