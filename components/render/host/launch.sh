#!/usr/bin/env bash
# gaudi-pd launcher: runs instance KEY with exactly the environment in KEY.env (plus HF_TOKEN when its caller
# set one) and the argv in KEY.argv, appending its output to the log named in KEY.log-path.
# Usage: launch.sh KEY (run by the supervisor or by systemd, never by hand).
set -euo pipefail
dir=${0%/*}
key=$1
exec >>"$(<"$dir/$key.log-path")" 2>&1
token=${HF_TOKEN-}
# A clean, deterministic environment: nothing inherited from the shell, the SSH session or systemd.
while IFS= read -r var; do unset "$var" 2>/dev/null || true; done < <(compgen -e)
while IFS= read -r line; do export "${line%%=*}=${line#*=}"; done <"$dir/$key.env"
if [ -n "$token" ]; then export HF_TOKEN="$token"; fi
unset token
mapfile -t argv <"$dir/$key.argv"
printf '[gaudi-pd launcher %s] exec %s\n' "$(date '+%F %T')" "${argv[*]}"
# env -u: bash would otherwise hand its own SHLVL to the instance.
exec env -u SHLVL -- "${argv[@]}"
