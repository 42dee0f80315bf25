# ---- The check: the same for every cluster; the values above are this cluster's. ----

FINDINGS=()
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

say() { printf 'verify: %s\n' "$*"; }
finding() { FINDINGS+=("$*"); }

# One line of at most 200 printable characters: what a server answered, fit to quote in a finding.
excerpt() { tr -c '[:print:]' ' ' <"$1" | tr -s ' ' | cut -c1-200; }

http() { # METHOD URL OUT [BODY]: prints the HTTP status (000 when nothing answered); the body goes to OUT
  local -a data=()
  [ $# -lt 4 ] || data=(-H 'content-type: application/json' --data-binary "$4")
  curl -sS --noproxy '*' --connect-timeout 5 -m "$REQUEST_TIMEOUT" -X "$1" -o "$3" -w '%{http_code}' "${data[@]}" "$2" 2>"$3.err" || true
}

wait_ready() { # the router answers /readiness with 200 once it has a healthy prefill and decode worker
  local deadline=$((SECONDS + READY_TIMEOUT)) code
  while :; do
    code=$(http GET "$ROUTER_URL$READY_PATH" "$WORK/ready")
    [ "$code" = 200 ] && return 0
    if [ $SECONDS -ge $deadline ]; then
      finding "router: $ROUTER_URL$READY_PATH did not answer 200 within ${READY_TIMEOUT} s (last: HTTP $code $(excerpt "$WORK/ready")): check the router's log and that every instance is healthy"
      return 1
    fi
    sleep 1
  done
}

# Sums over every series of the NIXL and request samples: transfers failed_transfers failed_notifications decoded,
# each "-" when the instance does not export it.
sums() {
  awk '
    /^#/ { next }
    {
      name = $0; sub(/[{ ].*/, "", name)
      rest = $0; if (index(rest, "{")) sub(/^[^}]*}/, "", rest); else sub(/^[^ ]*/, "", rest)
      split(rest, f, " ")
      if (name in want) { sum[want[name]] += f[1]; seen[want[name]] = 1 }
    }
    BEGIN {
      want["vllm:nixl_bytes_transferred_count"] = 1
      want["vllm:nixl_num_failed_transfers_total"] = 2
      want["vllm:nixl_num_failed_notifications_total"] = 3
      want["vllm:request_success_total"] = 4
    }
    END { for (k = 1; k <= 4; k++) printf "%s%s", (k > 1 ? " " : ""), (seen[k] ? sprintf("%.0f", sum[k]) : "-"); print "" }
  ' "$1"
}

snapshot() { # DIR: every decode instance's metrics sums, one file per instance
  local i code
  mkdir -p "$1"
  for i in "${!DECODE_NAMES[@]}"; do
    code=$(http GET "${DECODE_URLS[$i]}/metrics" "$WORK/metrics")
    if [ "$code" = 200 ]; then sums "$WORK/metrics" >"$1/$i"; else echo "unreachable HTTP $code" >"$1/$i"; fi
  done
}

# The kv_transfer_params object of a JSON body, verbatim ("" when absent or null): the router copies it the same way.
kv_params() {
  awk '
    { text = text $0 "\n" }
    END {
      at = index(text, "\"kv_transfer_params\""); if (!at) exit
      rest = substr(text, at + 20); sub(/^[ \t\r\n]*:[ \t\r\n]*/, "", rest)
      if (substr(rest, 1, 1) != "{") exit
      depth = 0; quoted = 0
      for (k = 1; k <= length(rest); k++) {
        c = substr(rest, k, 1)
        if (quoted) { if (c == "\\") k++; else if (c == "\"") quoted = 0; continue }
        if (c == "\"") quoted = 1; else if (c == "{") depth++; else if (c == "}" && --depth == 0) { print substr(rest, 1, k); exit }
      }
    }
  ' "$1"
}

field() { # NAME FILE: a string or number field of a flat JSON object, unquoted
  grep -o "\"$1\"[[:space:]]*:[[:space:]]*\(\"[^\"]*\"\|[0-9]*\)" "$2" | head -n1 | sed 's/^[^:]*:[[:space:]]*//; s/"//g' || true
}

# Prefill -> decode directly, once for every prefill and every decode instance: what the router does for one request.
# It proves each KV path whatever the router's policies, and reads the side channel each prefill instance advertises.
direct_pairs() {
  local n=$((${#PREFILL_NAMES[@]} > ${#DECODE_NAMES[@]} ? ${#PREFILL_NAMES[@]} : ${#DECODE_NAMES[@]}))
  local k p d code prompt advertised
  for ((k = 0; k < n; k++)); do
    p=$((k % ${#PREFILL_NAMES[@]}))
    d=$((k % ${#DECODE_NAMES[@]}))
    prompt="$RUN_ID pair $k: explain why the sky is blue in one sentence"
    code=$(http POST "${PREFILL_URLS[$p]}/v1/completions" "$WORK/prefill" \
      "{\"model\":$MODEL_JSON,\"prompt\":\"$prompt\",\"max_tokens\":1,\"stream\":false,\"kv_transfer_params\":{\"do_remote_decode\":true,\"do_remote_prefill\":false,\"remote_engine_id\":null,\"remote_block_ids\":null,\"remote_host\":null,\"remote_port\":null}}")
    if [ "$code" != 200 ]; then
      finding "${PREFILL_NAMES[$p]} answered a prefill request with HTTP $code ($(excerpt "$WORK/prefill")): check its log"
      continue
    fi
    kv_params "$WORK/prefill" >"$WORK/kv"
    if [ ! -s "$WORK/kv" ]; then
      finding "${PREFILL_NAMES[$p]} prefilled without returning kv_transfer_params: it runs without the NixlConnector as kv_producer; check its --kv-transfer-config"
      continue
    fi
    advertised="$(field remote_host "$WORK/kv"):$(field remote_port "$WORK/kv")"
    if [ "$advertised" != "${PREFILL_CHANNELS[$p]}" ]; then
      finding "${PREFILL_NAMES[$p]} advertises its NIXL side channel as $advertised, not ${PREFILL_CHANNELS[$p]} (its node's address): decode instances cannot pull KV from it; check VLLM_NIXL_SIDE_CHANNEL_HOST and VLLM_NIXL_SIDE_CHANNEL_PORT on ${PREFILL_NODES[$p]}"
    fi
    code=$(http POST "${DECODE_URLS[$d]}/v1/completions" "$WORK/decode" \
      "{\"model\":$MODEL_JSON,\"prompt\":\"$prompt\",\"max_tokens\":2,\"stream\":false,\"kv_transfer_params\":$(cat "$WORK/kv")}")
    if [ "$code" != 200 ]; then
      finding "${DECODE_NAMES[$d]} could not decode a request prefilled by ${PREFILL_NAMES[$p]} (side channel $advertised): HTTP $code ($(excerpt "$WORK/decode")); check VLLM_NIXL_SIDE_CHANNEL_HOST on ${PREFILL_NODES[$p]} and that port ${advertised##*:} is open between the nodes"
    fi
  done
}

through_router() { # REQUESTS completions and chats through the router, streamed and not; counts the answers in ANSWERED
  local k code prompt path body stream
  for ((k = 0; k < REQUESTS; k++)); do
    # A distinct head per request, so cache_aware routing matches no earlier prompt and spreads them.
    prompt="$k $RUN_ID: name a prime number larger than $((k * 7 + 3))"
    stream=$([ $((k / 2 % 2)) = 1 ] && echo true || echo false)
    if [ $((k % 2)) = 0 ]; then
      path=/v1/completions
      body="{\"model\":$MODEL_JSON,\"prompt\":\"$prompt\",\"max_tokens\":4,\"stream\":$stream}"
    else
      path=/v1/chat/completions
      body="{\"model\":$MODEL_JSON,\"messages\":[{\"role\":\"user\",\"content\":\"$prompt\"}],\"max_tokens\":4,\"stream\":$stream}"
    fi
    code=$(http POST "$ROUTER_URL$path" "$WORK/answer" "$body")
    if [ "$code" != 200 ]; then
      finding "router: request $k ($path, stream $stream) failed with HTTP $code ($(excerpt "$WORK/answer"))"
    elif [ "$stream" = true ] && ! grep -q '^data: \[DONE\]' "$WORK/answer"; then
      finding "router: request $k ($path, streamed) ended without data: [DONE]"
    else
      ANSWERED=$((ANSWERED + 1))
    fi
  done
}

# Decode counters settle shortly after the answer (vLLM records them from the engine's next step): wait until every
# instance counted as many transfers as it decoded requests, or SETTLE_SECS.
settled() {
  local i t0 t1 r0 r1
  for i in "${!DECODE_NAMES[@]}"; do
    read -r t0 _ _ r0 <"$WORK/before/$i"
    read -r t1 _ _ r1 <"$WORK/after/$i"
    case "$t0$t1$r0$r1" in *[!0-9]*) continue ;; esac
    [ $((t1 - t0)) -ge $((r1 - r0)) ] || return 1
  done
}

judge() { # one finding per decode instance whose counters show a fallback or a failure
  local i t0 x0 n0 r0 t1 x1 n1 r1 decoded transfers
  for i in "${!DECODE_NAMES[@]}"; do
    local who=${DECODE_NAMES[$i]}
    read -r t0 x0 n0 r0 <"$WORK/before/$i"
    read -r t1 x1 n1 r1 <"$WORK/after/$i"
    if [ "$t0" = unreachable ] || [ "$t1" = unreachable ]; then
      finding "$who: ${DECODE_URLS[$i]}/metrics did not answer ($t0 $x0 $n0 / $t1 $x1 $n1): check the instance and that the router host reaches it"
      continue
    fi
    if [ "$t1" = - ] || [ "$r1" = - ]; then
      finding "$who exports no vllm:nixl_bytes_transferred_count or vllm:request_success_total: it runs without the NixlConnector (check its --kv-transfer-config), or its vLLM has no NIXL metrics"
      continue
    fi
    if [ "$t1" -lt "$t0" ] || [ "$r1" -lt "$r0" ]; then
      finding "$who restarted during the check (its counters went back): check its log"
      continue
    fi
    decoded=$((r1 - r0))
    transfers=$((t1 - t0))
    TOTAL_TRANSFERS=$((TOTAL_TRANSFERS + transfers))
    if [ "$transfers" -lt "$decoded" ]; then
      if [ "$transfers" = 0 ]; then
        finding "$who decoded $decoded request(s) with no KV transfer: requests fell back to decode-only; check VLLM_NIXL_SIDE_CHANNEL_HOST and the prefill side channel"
      else
        finding "$who decoded $decoded request(s) with only $transfers KV transfer(s): $((decoded - transfers)) fell back to decode-only; check VLLM_NIXL_SIDE_CHANNEL_HOST and the prefill side channel"
      fi
    fi
    if [ "$x1" != - ] && [ "$x1" -gt "$x0" ]; then
      finding "$who counted $((x1 - x0)) failed NIXL transfer(s) (vllm:nixl_num_failed_transfers_total): a prefill side channel was unreachable or refused it; check VLLM_NIXL_SIDE_CHANNEL_HOST/PORT on the prefill nodes and UCX_TLS"
    fi
    if [ "$n1" != - ] && [ "$n1" -gt "$n0" ]; then
      finding "$who counted $((n1 - n0)) failed NIXL notification(s) (vllm:nixl_num_failed_notifications_total): prefill instances were not told their KV was read; check the network between the nodes"
    fi
  done
}

main() {
  command -v curl >/dev/null || { echo "verify: error: curl is not installed on the router host (apt-get install -y curl)" >&2; exit 1; }
  RUN_ID="gaudi-pd-verify-$(date +%s)-$$"
  TOTAL_TRANSFERS=0
  ANSWERED=0
  say "waiting for the router's $READY_PATH at $ROUTER_URL"
  if wait_ready; then
    snapshot "$WORK/before"
    direct_pairs
    through_router
    say "$ANSWERED/$REQUESTS request(s) through the router answered"
    local deadline=$((SECONDS + SETTLE_SECS))
    while :; do
      snapshot "$WORK/after"
      settled || [ $SECONDS -ge $deadline ] || { sleep 1; continue; }
      break
    done
    judge
  fi
  if [ ${#FINDINGS[@]} -gt 0 ]; then
    printf 'verify: FAILED: %s\n' "${FINDINGS[@]}" >&2
    exit 1
  fi
  say "ok: every decode instance pulled KV over NIXL for every request it decoded ($TOTAL_TRANSFERS transfer(s), no failures)"
}
