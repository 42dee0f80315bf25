router_version() { # executable: the vllm-router version its Python reports; empty when it reports none
  local line
  local -a interpreter=()
  [ -x "$1" ] || return 0
  { IFS= read -r line <"$1"; } 2>/dev/null || return 0
  [[ $line == '#!'* ]] || return 0
  read -ra interpreter <<<"${line#\#!}"
  "${interpreter[@]}" -c 'import importlib.metadata as m; print(m.version("vllm-router"))' 2>/dev/null || true
}

# The pinned router: one already on PATH when its version matches, else the project's own virtualenv.
runtime_path() { # prints the PATH the router runs with
  local found version venv=$STATE/venv
  if found=$(command -v vllm-router); then
    version=$(router_version "$found")
    if [ "$version" = "$ROUTER_VERSION" ]; then
      say "using $found (vllm-router $ROUTER_VERSION)" >&2
      printf '%s\n' "$PATH"
      return 0
    fi
    say "not using $found: its Python reports vllm-router '${version:-none}', not $ROUTER_VERSION" >&2
  fi
  if [ "$(router_version "$venv/bin/vllm-router")" != "$ROUTER_VERSION" ]; then
    need python3 python3-venv
    say "installing vllm-router $ROUTER_VERSION into $venv" >&2
    python3 -m venv "$venv" >&2 || die "'python3 -m venv $venv' failed (apt-get install -y python3-venv)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "vllm-router==$ROUTER_VERSION" >&2 ||
      die "pip could not install vllm-router==$ROUTER_VERSION into $venv"
    [ "$(router_version "$venv/bin/vllm-router")" = "$ROUTER_VERSION" ] ||
      die "vllm-router $ROUTER_VERSION is not in $venv after pip install"
  fi
  say "using $venv/bin/vllm-router (vllm-router $ROUTER_VERSION)" >&2
  printf '%s\n' "$venv/bin:$PATH"
}
