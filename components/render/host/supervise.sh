#!/usr/bin/env bash
# gaudi-pd supervisor: runs instance KEY through launch.sh and restarts it after DELAY seconds whenever it exits
# non-zero, like systemd's Restart=on-failure; gives up (exit 1) rather than start more than BURST times within
# INTERVAL seconds, like StartLimitBurst/StartLimitIntervalSec. SIGTERM stops it and the instance.
# Usage: supervise.sh KEY DELAY BURST INTERVAL (started detached by the host script's `start`).
set -uo pipefail

note() { printf '[gaudi-pd supervisor %s] %s\n' "$(date '+%F %T')" "$*"; }

main() {
  local dir=${0%/*} key=$1 delay=$2 burst=$3 interval=$4
  local child=0 rc stopping=0
  local -a starts=()
  trap 'stopping=1; if [ "$child" != 0 ]; then kill -TERM "$child" 2>/dev/null; fi' TERM INT
  printf '%s\n' "$$" >"$dir/$key.supervisor.pid"
  while :; do
    if [ "${#starts[@]}" -ge "$burst" ] && ((SECONDS - starts[${#starts[@]} - burst] < interval)); then
      note "started $burst times within $interval s; giving up"
      exit 1
    fi
    starts+=("$SECONDS")
    printf '%s\n' "$((${#starts[@]} - 1))" >"$dir/$key.restarts"
    bash "$dir/launch.sh" "$key" &
    child=$!
    printf '%s\n' "$child" >"$dir/$key.pid"
    wait "$child"
    rc=$?
    # A trapped signal interrupts wait before the instance has exited.
    while kill -0 "$child" 2>/dev/null; do
      wait "$child"
      rc=$?
    done
    child=0
    rm -f "$dir/$key.pid"
    if [ "$stopping" = 1 ]; then
      note "stopped"
      exit 0
    fi
    if [ "$rc" = 0 ]; then
      note "exited with status 0; not restarting"
      exit 0
    fi
    note "exited with status $rc; restarting in $delay s"
    sleep "$delay" &
    wait $! || true
    if [ "$stopping" = 1 ]; then
      note "stopped"
      exit 0
    fi
  done
}

main "$@"; exit
