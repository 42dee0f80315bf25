#!/usr/bin/env bash
# gaudi-pd launcher: runs instance KEY with exactly the environment in KEY.env (plus HF_TOKEN when its caller
# set one) and the argv in KEY.argv, appending its output to the log named in KEY.log-path.
# Usage: launch.sh KEY [journal] (run by the supervisor, or by systemd with `journal`; never by hand).
set -euo pipefail
dir=${0%/*}
key=$1
if [ "${2-}" = journal ]; then
  # Under systemd: to the log file and to stdout, which journald keeps. tee ends when the instance closes its output.
  exec > >(exec tee -a "$(<"$dir/$key.log-path")") 2>&1
else
  exec >>"$(<"$dir/$key.log-path")" 2>&1
fi
token=${HF_TOKEN-}
# A clean, deterministic environment: nothing inherited from the shell, the SSH session or systemd.
while IFS= read -r var; do unset "$var" 2>/dev/null || true; done < <(compgen -e)
while IFS= read -r line; do export "${line%%=*}=${line#*=}"; done <"$dir/$key.env"
if [ -n "$token" ]; then export HF_TOKEN="$token"; fi
unset token
mapfile -t argv <"$dir/$key.argv"
# The limits the instance really gets: a unit's LimitMEMLOCK/LimitNOFILE above what its host allows is lowered silently.
printf '[gaudi-pd launcher %s] exec %s (max locked memory: %s, max open files: %s)\n' "$(date '+%F %T')" "${argv[*]}" "$(ulimit -l)" "$(ulimit -n)"
# env -u: bash would otherwise hand its own SHLVL to the instance.
exec env -u SHLVL -- "${argv[@]}"
