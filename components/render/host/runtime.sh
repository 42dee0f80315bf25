# ---- The runtime: the same in every gaudi-pd host script; the values above are this host's. ----

usage() {
  cat >&2 <<USAGE
usage: bash ${0##*/} VERB [VERB...]
  Runs the verbs in order and stops at the first failure.
    install  create $STATE and $LOG_DIR, write env files, launchers and units, check required commands
    start    start every instance that is not already running (a node first fetches its model, once)
    wait     poll every instance until all are healthy (timeout: GAUDI_PD_WAIT_TIMEOUT or $HEALTH_TIMEOUT s)
    stop     stop every instance; return once none of its processes and none of its ports is left
    uninstall  stop, then remove what install wrote (state directory, unit file; the logs stay)
    status   one line per instance; exit 0 when all are healthy, 3 otherwise. With --porcelain, one
             tab-separated line per instance: KEY STATE RESTARTS HTTP-STATUS PORT, where STATE is running,
             restarting, unsupervised (its supervisor is gone), failed (gave up or was killed) or stopped
  GAUDI_PD_MODE=systemd|supervised overrides the mode install picks (systemd when systemd is PID 1).
USAGE
}

say() { printf '[gaudi-pd %s] %s\n' "$UNIT" "$*"; }
warn() { printf '[gaudi-pd %s] warning: %s\n' "$UNIT" "$*" >&2; }
die() {
  printf '[gaudi-pd %s] error: %s\n' "$UNIT" "$*" >&2
  exit 1
}

# Write stdin to a file with a mode, atomically: a process running the old file keeps reading the old file.
write_file() {
  local tmp
  tmp=$(mktemp "$1.XXXXXX")
  cat >"$tmp"
  chmod "$2" "$tmp"
  mv -f "$tmp" "$1"
}

need() { # command package: fail install clearly when a command the runtime uses is missing
  command -v "$1" >/dev/null || die "'$1' is not installed (apt-get install -y $2)"
}

detect_mode() { # systemd where systemd runs the host as PID 1, supervised background processes elsewhere
  case ${GAUDI_PD_MODE:-} in
    systemd | supervised) printf '%s\n' "$GAUDI_PD_MODE" ;;
    "")
      if [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
        echo systemd
      else
        echo supervised
      fi
      ;;
    *) die "GAUDI_PD_MODE must be systemd or supervised, got '$GAUDI_PD_MODE'" ;;
  esac
}

installed_mode() { # the mode install chose; before any install, the one it would choose
  if [ -f "$STATE/mode" ]; then cat "$STATE/mode"; else detect_mode; fi
}

unit_name() { printf '%s@%s.service\n' "$SYSTEMD_UNIT" "${KEYS[$1]}"; }

proc_stat() { # pid: the fields of /proc/PID/stat after the command name (state ppid pgrp session ...)
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  printf '%s\n' "${stat##*) }"
}

in_session() { # pid session: succeeds when that process is alive (not a zombie) and in that session
  local state session
  read -r state _ _ session _ <<<"$(proc_stat "$1")" || return 1
  [ "$state" != Z ] && [ "$session" = "$2" ]
}

supervisor_pid() { # index: the pid of the instance's live supervisor, or failure
  local pid cmd
  local -a words=()
  pid=$(cat "$STATE/${KEYS[$1]}.supervisor.pid" 2>/dev/null) || return 1
  in_session "$pid" "$pid" || return 1
  { mapfile -d '' words <"/proc/$pid/cmdline"; } 2>/dev/null || return 1
  cmd="bash $STATE/supervise.sh ${KEYS[$1]} $RESTART_DELAY_SECS $START_LIMIT_BURST $START_LIMIT_INTERVAL_SECS"
  [ "${words[*]}" = "$cmd" ] || return 1
  printf '%s\n' "$pid"
}

instance_pid() { # index: the pid of the running instance, which lives in its supervisor's session, or failure
  local sup pid
  sup=$(supervisor_pid "$1") || return 1
  pid=$(cat "$STATE/${KEYS[$1]}.pid" 2>/dev/null) || return 1
  in_session "$pid" "$sup" || return 1
  printf '%s\n' "$pid"
}

unit_prop() { # index property: one property of the instance's unit, as systemctl show gives it
  systemctl show -p "$2" --value "$(unit_name "$1")" 2>/dev/null || echo unknown
}

unit_state() { # index: systemd's ActiveState of the instance's unit
  unit_prop "$1" ActiveState
}

running() { # mode index: the instance runs or is about to be restarted
  if [ "$1" = systemd ]; then
    case $(unit_state "$2") in active | activating | reloading) return 0 ;; *) return 1 ;; esac
  fi
  supervisor_pid "$2" >/dev/null
}

given_up() { # mode index: the instance is down and nothing will restart it
  if [ "$1" = systemd ]; then
    # deactivating is the gap between an exit and systemd's decision to restart (activating) or give up (failed).
    case $(unit_state "$2") in failed | inactive) return 0 ;; *) return 1 ;; esac
  fi
  ! supervisor_pid "$2" >/dev/null
}

probe() { # index: the HTTP status of the instance's health URL, 000 when it does not answer
  curl -s -o /dev/null --noproxy '*' --connect-timeout 2 -m 5 -w '%{http_code}' "${HEALTH_URLS[$1]}" || true
}

log_of() { # index: the log file of the instance's current run
  cat "$STATE/${KEYS[$1]}.log-path" 2>/dev/null || true
}

session_members() { # session...: the live (non-zombie) processes in those sessions
  local -A wanted=()
  local id f stat state session
  for id in "$@"; do wanted[$id]=1; done
  for f in /proc/[0-9]*/stat; do
    { read -r stat <"$f"; } 2>/dev/null || continue
    read -r state _ _ session _ <<<"${stat##*) }"
    if [ "$state" != Z ] && [ -n "${wanted[$session]:-}" ]; then
      f=${f#/proc/}
      printf '%s\n' "${f%/stat}"
    fi
  done
}

bound_ports() { # the planned ports something listens on, from the kernel's socket tables
  local -A planned=()
  local p f address state
  for p in "${BOUND_PORTS[@]}"; do planned[$p]=1; done
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    while read -r _ address _ state _; do
      [ "$state" = 0A ] || continue
      p=$((16#${address##*:}))
      if [ -n "${planned[$p]:-}" ]; then printf '%s\n' "$p"; fi
    done <"$f"
  done | sort -nu
}

load_hf_token() { # export HF_TOKEN from the token file (only ever into the environment, never printed)
  local line
  unset HF_TOKEN
  [ -n "$HF_TOKEN_FILE" ] || return 0
  [ -r "$HF_TOKEN_FILE" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in HF_TOKEN=*) export HF_TOKEN="${line#HF_TOKEN=}" ;; esac
  done <"$HF_TOKEN_FILE"
}

verb_install() {
  local mode previous path key i
  mode=$(detect_mode)
  previous=$(installed_mode)
  if [ "$previous" != "$mode" ]; then
    for i in "${!KEYS[@]}"; do
      if running "$previous" "$i"; then die "running in $previous mode; run stop before installing in $mode mode"; fi
    done
  fi
  need curl curl
  need setsid util-linux
  if [ "$mode" = systemd ]; then need systemctl systemd; fi
  mkdir -p "$STATE_ROOT" "$LOG_DIR"
  install -d -m 0700 "$STATE"
  path=$(runtime_path)
  launcher_text | write_file "$STATE/launch.sh" 0700
  supervisor_text | write_file "$STATE/supervise.sh" 0700
  for key in "${KEYS[@]}"; do
    { printf 'PATH=%s\nHOME=%s\n' "$path" "${HOME:-/root}"; env_of "$key"; } | write_file "$STATE/$key.env" 0600
    argv_of "$key" | write_file "$STATE/$key.argv" 0600
  done
  if [ "$mode" = systemd ]; then
    unit_text | write_file "$UNIT_DIR/$SYSTEMD_UNIT@.service" 0644
    systemctl daemon-reload
  fi
  printf '%s\n' "$mode" | write_file "$STATE/mode" 0600
  for i in "${!KEYS[@]}"; do say "installed ${DESCRIPTIONS[i]} (port ${PORTS[i]})"; done
  say "$mode mode; state in $STATE, logs in $LOG_DIR"
}

start_supervisor() { # index log: start the instance's supervisor in its own session, so it outlives this shell
  local key=${KEYS[$1]} t
  (
    { set +x; } 2>/dev/null
    load_hf_token
    exec setsid bash "$STATE/supervise.sh" "$key" "$RESTART_DELAY_SECS" "$START_LIMIT_BURST" "$START_LIMIT_INTERVAL_SECS" </dev/null >>"$2" 2>&1
  ) &
  for t in $(seq 50); do
    if supervisor_pid "$1" >/dev/null; then return 0; fi
    [ "$t" = 50 ] || sleep 0.1
  done
  die "the supervisor of ${DESCRIPTIONS[$1]} did not start; see $2"
}

verb_start() {
  local mode ts i log started=0
  local -a pending=()
  [ -f "$STATE/mode" ] || die "not installed: run install first"
  mode=$(installed_mode)
  if [ -n "$HF_TOKEN_FILE" ] && [ ! -r "$HF_TOKEN_FILE" ]; then
    warn "the HF token file $HF_TOKEN_FILE is missing: instances start without HF_TOKEN"
  fi
  for i in "${!KEYS[@]}"; do
    if ! running "$mode" "$i"; then pending+=("$i"); fi
  done
  # What every instance needs before it starts (the node's model fetch), done once and only when one starts.
  if [ "${#pending[@]}" -gt 0 ]; then before_start; fi
  ts=$(date +%Y%m%d_%H%M%S)
  for i in "${pending[@]}"; do
    log=${LOG_PREFIXES[i]}$ts${LOG_SUFFIXES[i]}
    printf '%s\n' "$log" | write_file "$STATE/${KEYS[i]}.log-path" 0600
    : >>"$log"
    if [ "$mode" = systemd ]; then
      systemctl reset-failed "$(unit_name "$i")" 2>/dev/null || true
      systemctl enable --now --quiet "$(unit_name "$i")"
    else
      stop_supervised "$i" # an instance whose supervisor was killed must not hold the port of its successor
      start_supervisor "$i" "$log"
    fi
    say "started ${DESCRIPTIONS[i]} (port ${PORTS[i]}), log $log"
    started=$((started + 1))
  done
  say "$started started, $((${#KEYS[@]} - started)) already running"
}

report_failed() { # reason index...: name each failed instance and show the tail of its journal (systemd) or log
  local reason=$1 i log
  shift
  for i in "$@"; do
    log=$(log_of "$i")
    printf '[gaudi-pd %s] FAILED: %s (port %s) %s\n' "$UNIT" "${DESCRIPTIONS[i]}" "${PORTS[i]}" "$reason" >&2
    if [ "$(installed_mode)" = systemd ]; then
      # The journal has the instance's output and systemd's account of its exits and restarts.
      printf '  last %s lines of journalctl -u %s (the instance log is %s):\n' "$LOG_TAIL_LINES" "$(unit_name "$i")" "${log:-not started}" >&2
      journalctl -u "$(unit_name "$i")" -n "$LOG_TAIL_LINES" --no-pager -o short-iso 2>&1 | sed 's/^/  | /' >&2
    elif [ -n "$log" ] && [ -f "$log" ]; then
      printf '  last %s lines of %s:\n' "$LOG_TAIL_LINES" "$log" >&2
      tail -n "$LOG_TAIL_LINES" "$log" | sed 's/^/  | /' >&2
    else
      printf '  no log: it was never started (run start first)\n' >&2
    fi
  done
}

verb_wait() {
  local timeout=${GAUDI_PD_WAIT_TIMEOUT:-$HEALTH_TIMEOUT} mode tmp i n=${#KEYS[@]} shown=-1 noted=$SECONDS
  local -a healthy=() pending=() dead=() probes=()
  [[ $timeout =~ ^[0-9]+$ ]] || die "GAUDI_PD_WAIT_TIMEOUT must be a whole number of seconds, got '$timeout'"
  mode=$(installed_mode)
  local begin=$SECONDS
  local deadline=$((SECONDS + timeout))
  tmp=$(mktemp -d)
  while :; do
    pending=()
    for i in "${!KEYS[@]}"; do
      if [ -z "${healthy[i]:-}" ]; then pending+=("$i"); fi
    done
    probes=()
    for i in "${pending[@]}"; do
      probe "$i" >"$tmp/$i" &
      probes+=("$!")
    done
    wait "${probes[@]}"
    dead=()
    for i in "${pending[@]}"; do
      if [ "$(cat "$tmp/$i")" = 200 ]; then
        healthy[i]=1
      elif given_up "$mode" "$i"; then
        dead+=("$i")
      fi
    done
    if [ "${#healthy[@]}" != "$shown" ] || ((SECONDS - noted >= 30)); then
      shown=${#healthy[@]}
      noted=$SECONDS
      say "$shown/$n healthy after $((SECONDS - begin)) s"
    fi
    if [ "${#healthy[@]}" = "$n" ]; then
      rm -rf "$tmp"
      return 0
    fi
    if [ "${#dead[@]}" -gt 0 ]; then
      rm -rf "$tmp"
      report_failed "is not running and is not being restarted" "${dead[@]}"
      for i in "${pending[@]}"; do
        if [ -z "${healthy[i]:-}" ] && [[ " ${dead[*]} " != *" $i "* ]]; then
          printf '[gaudi-pd %s] not healthy yet: %s (port %s)\n' "$UNIT" "${DESCRIPTIONS[i]}" "${PORTS[i]}" >&2
        fi
      done
      return 1
    fi
    if ((SECONDS >= deadline)); then
      rm -rf "$tmp"
      pending=()
      for i in "${!KEYS[@]}"; do
        if [ -z "${healthy[i]:-}" ]; then pending+=("$i"); fi
      done
      report_failed "is not healthy after $timeout s" "${pending[@]}"
      return 1
    fi
    sleep "$POLL_SECS"
  done
}

stop_units() {
  local i
  local -a units=()
  [ -f "$UNIT_DIR/$SYSTEMD_UNIT@.service" ] || return 0
  for i in "${!KEYS[@]}"; do units+=("$(unit_name "$i")"); done
  systemctl disable --now --quiet "${units[@]}"
  rm -f "$UNIT_DIR/$SYSTEMD_UNIT@.service"
  systemctl daemon-reload
  systemctl reset-failed "${units[@]}" 2>/dev/null || true
}

kill_sessions() { # session...: SIGKILL every live process of those sessions
  local pid
  for pid in $(session_members "$@"); do kill -KILL "$pid" 2>/dev/null || true; done
}

await_sessions() { # tries session...: poll until those sessions are empty; fail when tries × 0.2 s pass first
  local tries=$1 t
  shift
  for ((t = 0; t < tries; t++)); do
    [ -n "$(session_members "$@")" ] || return 0
    sleep 0.2
  done
  return 1
}

# Each supervisor leads its own session, and its instance (with any worker processes) stays in it even when
# the supervisor itself was killed: stopping that session stops everything start began for the instance.
our_session() { # index: the id of the instance's session, or failure when nothing of it runs
  local sup state pid
  if sup=$(supervisor_pid "$1"); then
    printf '%s\n' "$sup"
    return 0
  fi
  sup=$(cat "$STATE/${KEYS[$1]}.supervisor.pid" 2>/dev/null) || return 1
  # A live process with that pid that is not the supervisor means the pid was reused: none of ours is left.
  if state=$(proc_stat "$sup") && [ "${state%% *}" != Z ]; then return 1; fi
  pid=$(cat "$STATE/${KEYS[$1]}.pid" 2>/dev/null) || return 1
  in_session "$pid" "$sup" || return 1
  printf '%s\n' "$sup"
}

# Like systemd's KillMode=mixed: SIGTERM to the supervisor (which passes it to its instance) or, when the
# supervisor is gone, to the instance; SIGKILL to whatever is left in their sessions after the grace period.
stop_supervised() { # index...: stop those instances and their supervisors
  local i id pid
  local -a sessions=()
  for i in "$@"; do
    id=$(our_session "$i") || continue
    sessions+=("$id")
    if supervisor_pid "$i" >/dev/null; then pid=$id; else pid=$(cat "$STATE/${KEYS[i]}.pid"); fi
    kill -TERM "$pid" 2>/dev/null || true
  done
  if [ "${#sessions[@]}" -gt 0 ] && ! await_sessions $((STOP_GRACE_SECS * 5)) "${sessions[@]}"; then
    warn "still running after $STOP_GRACE_SECS s: $(session_members "${sessions[@]}" | tr '\n' ' ')- sending SIGKILL"
    kill_sessions "${sessions[@]}"
    await_sessions 50 "${sessions[@]}" || die "processes $(session_members "${sessions[@]}" | tr '\n' ' ')survived SIGKILL"
  fi
  for i in "$@"; do rm -f "$STATE/${KEYS[i]}.supervisor.pid" "$STATE/${KEYS[i]}.pid"; done
}

verb_stop() {
  local mode t
  local -a bound=()
  mode=$(installed_mode)
  if [ "$mode" = systemd ]; then stop_units; else stop_supervised "${!KEYS[@]}"; fi
  for ((t = 0; t < STOP_GRACE_SECS * 5; t++)); do
    mapfile -t bound < <(bound_ports)
    [ "${#bound[@]}" -gt 0 ] || break
    sleep 0.2
  done
  if [ "${#bound[@]}" -gt 0 ]; then
    if command -v ss >/dev/null; then ss -ltnp >&2 || true; fi
    die "port(s) ${bound[*]} are still bound, though none of this host's instances runs"
  fi
  say "stopped: no instance process left, ports ${BOUND_PORTS[*]} free"
}

verb_uninstall() { # what install wrote goes (the delete command then removes this script), logs stay
  verb_stop
  rm -f "$UNIT_DIR/$SYSTEMD_UNIT@.service"
  rm -rf "$STATE"
  say "uninstalled: $STATE removed, logs kept in $LOG_DIR"
}

instance_state() { # mode index: running | restarting | unsupervised | failed | stopped (the --porcelain STATE)
  if [ "$1" = systemd ]; then
    case $(unit_state "$2"):$(unit_prop "$2" SubState) in
      active:* | activating:start*) echo running ;;
      activating:*) echo restarting ;;
      failed:*) echo failed ;;
      *) echo stopped ;;
    esac
  elif supervisor_pid "$2" >/dev/null; then
    if instance_pid "$2" >/dev/null; then echo running; else echo restarting; fi
  elif our_session "$2" >/dev/null; then
    echo unsupervised
  elif [ -f "$STATE/${KEYS[$2]}.supervisor.pid" ]; then
    echo failed # stop removes the pid file: a supervisor that left it gave up or was killed
  else
    echo stopped
  fi
}

restarts_of() { # mode index: how often the instance was restarted since it was started
  local n
  if [ "$1" = systemd ]; then n=$(unit_prop "$2" NRestarts); else n=$(cat "$STATE/${KEYS[$2]}.restarts" 2>/dev/null || echo 0); fi
  [[ $n =~ ^[0-9]+$ ]] || n=0
  printf '%s\n' "$n"
}

verb_status() {
  local mode i pid sup state code restarts unhealthy=0
  mode=$(installed_mode)
  for i in "${!KEYS[@]}"; do
    code=$(probe "$i")
    if [ "$code" != 200 ]; then unhealthy=1; fi
    # Serving without its supervisor: nothing would restart it, so status does not call the host healthy.
    if [ "$mode" != systemd ] && [ "$(instance_state "$mode" "$i")" = unsupervised ]; then unhealthy=1; fi
    if [ "$STATUS_PORCELAIN" = 1 ]; then
      state=$(instance_state "$mode" "$i")
      restarts=$(restarts_of "$mode" "$i")
      printf '%s\t%s\t%s\t%s\t%s\n' "${KEYS[i]}" "$state" "$restarts" "$code" "${PORTS[i]}"
      continue
    fi
    if [ "$mode" = systemd ]; then
      state="$(unit_state "$i") (pid $(unit_prop "$i" MainPID))"
    elif sup=$(supervisor_pid "$i"); then
      if pid=$(instance_pid "$i"); then state="running (pid $pid, supervisor $sup)"; else state="restarting (supervisor $sup)"; fi
    else
      state=$(instance_state "$mode" "$i")
    fi
    printf '%-32s port %-5s %-40s %s\n' "${DESCRIPTIONS[i]}" "${PORTS[i]}" "$state" "$([ "$code" = 200 ] && echo healthy || echo unhealthy)"
  done
  return $((unhealthy ? 3 : 0))
}

STATUS_PORCELAIN=0

main() {
  local verb
  local -a verbs=()
  for verb in "$@"; do
    case $verb in
      install | start | wait | stop | uninstall | status) verbs+=("$verb") ;;
      --porcelain) STATUS_PORCELAIN=1 ;;
      -h | --help | help)
        usage
        exit 0
        ;;
      *)
        printf '[gaudi-pd %s] unknown verb: %s\n' "$UNIT" "$verb" >&2
        usage
        exit 2
        ;;
    esac
  done
  # --porcelain shapes status only: anywhere else it is a mistake.
  if [ "${#verbs[@]}" = 0 ] || { [ "$STATUS_PORCELAIN" = 1 ] && [[ " ${verbs[*]} " != *" status "* ]]; }; then
    usage
    exit 2
  fi
  for verb in "${verbs[@]}"; do
    case $verb in
      install) verb_install ;;
      start) verb_start ;;
      wait) verb_wait ;;
      stop) verb_stop ;;
      uninstall) verb_uninstall ;;
      status) verb_status ;;
    esac
  done
}
