#!/usr/bin/env bash
# Build the Pulumi CLI and its Node.js language host from the Go module proxy into .tools/bin.
#
#   scripts/install-pulumi.sh            build what is missing or stale, reuse the rest
#   scripts/install-pulumi.sh --force    rebuild everything
#
# Versions are pinned by the go.mod/go.sum files under tools/pulumi/ (see tools/pulumi/README.md):
#   pulumi                         github.com/pulumi/pulumi/pkg/v3           (tools/pulumi/go.mod)
#   pulumi-language-nodejs         github.com/pulumi/pulumi/sdk/v3           (tools/pulumi/langhost-nodejs/go.mod)
#   pulumi-resource-pulumi-nodejs  shell shim from sdk/v3 nodejs/dist at the CLI's version (dynamic providers)
# pulumi-resource-command is NOT built: github.com/pulumi/pulumi-command/provider is not served by the proxy.
#
# Environment: PULUMI_TOOLS_BIN (default <repo>/.tools/bin), PULUMI_BUILD_JOBS (default 2),
# and the usual Go variables (GOPROXY, GOMODCACHE, GOCACHE, GOTOOLCHAIN).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOD_CLI="$ROOT/tools/pulumi"
MOD_NODEJS="$ROOT/tools/pulumi/langhost-nodejs"
BIN_DIR="${PULUMI_TOOLS_BIN:-$ROOT/.tools/bin}"
JOBS="${PULUMI_BUILD_JOBS:-2}"
VERSION_VAR="github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
FORCE=0

log() { printf '[install-pulumi] %s\n' "$*"; }
die() { printf '[install-pulumi] ERROR: %s\n' "$*" >&2; exit 1; }

for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (expected --force or --help)" ;;
  esac
done

command -v go >/dev/null 2>&1 || die "Go is not installed or not on PATH. Install Go >= 1.25 (Debian 12's golang package is too old; use a go.dev tarball) and re-run."
[[ -f "$MOD_CLI/go.mod" && -f "$MOD_NODEJS/go.mod" ]] || die "missing $MOD_CLI/go.mod or $MOD_NODEJS/go.mod"

# Reproducible, cache-friendly builds: go.sum is authoritative (-mod=readonly), no VCS stamping, no cgo
# (static binaries, no C toolchain needed), paths trimmed.
export GOFLAGS="-mod=readonly -buildvcs=false"
export CGO_ENABLED=0

mkdir -p "$BIN_DIR"
exec 9>"$BIN_DIR/.install-pulumi.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9 || die "could not lock $BIN_DIR/.install-pulumi.lock"
fi

log "go: $(go version)"
mod_version() { # <module dir> <module path>
  (cd "$1" && go list -m -f '{{.Version}}' "$2") || die "cannot resolve $2 in $1 (is the module proxy reachable?)"
}
CLI_VERSION="$(mod_version "$MOD_CLI" github.com/pulumi/pulumi/pkg/v3)"
NODEJS_VERSION="$(mod_version "$MOD_NODEJS" github.com/pulumi/pulumi/sdk/v3)"
log "pinned: pulumi $CLI_VERSION, pulumi-language-nodejs $NODEJS_VERSION"

# up_to_date <binary> <module of the main package> <version>
# True when the binary exists, go version -m shows it was built from that module version, and the stamp written
# after our own build (version + sha256; -trimpath keeps -ldflags out of the build info) still matches the file.
up_to_date() {
  local bin="$1" mod="$2" version="$3" stamp="$BIN_DIR/.$(basename "$1").stamp"
  [[ "$FORCE" == 0 && -x "$bin" && -f "$stamp" ]] || return 1
  go version -m "$bin" 2>/dev/null \
    | grep -Eq "^[[:space:]]+(mod|dep)[[:space:]]+$mod[[:space:]]+$version([[:space:]]|$)" || return 1
  [[ "$(cat "$stamp")" == "$version $(sha256sum "$bin" | cut -d' ' -f1)" ]]
}

# build <name> <module dir> <package> <module of package> <version>
build() {
  local name="$1" dir="$2" pkg="$3" mod="$4" version="$5"
  local out="$BIN_DIR/$name" start
  if up_to_date "$out" "$mod" "$version"; then
    log "reuse $name $version ($out)"
    return 0
  fi
  log "building $name $version from $pkg (cold: a few minutes on 2 cores; output in $out)"
  start=$SECONDS
  (cd "$dir" && go mod download "$mod") || die "downloading $mod@$version failed (GOPROXY=$(go env GOPROXY))"
  if ! (cd "$dir" && go build -p "$JOBS" -trimpath \
          -ldflags "-s -w -X $VERSION_VAR=$version" -o "$out.tmp.$$" "$pkg"); then
    rm -f "$out.tmp.$$"
    die "go build of $name ($pkg@$version) failed; see the compiler output above"
  fi
  go version -m "$out.tmp.$$" | grep -Eq "^[[:space:]]+(mod|dep)[[:space:]]+$mod[[:space:]]+$version([[:space:]]|$)" \
    || die "$name was built but go version -m does not show $mod $version"
  mv -f "$out.tmp.$$" "$out"
  echo "$version $(sha256sum "$out" | cut -d' ' -f1)" >"$BIN_DIR/.$name.stamp"
  log "built $name $version in $((SECONDS - start))s"
}

build pulumi "$MOD_CLI" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
  github.com/pulumi/pulumi/pkg/v3 "$CLI_VERSION"
build pulumi-language-nodejs "$MOD_NODEJS" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs \
  github.com/pulumi/pulumi/sdk/v3 "$NODEJS_VERSION"

# Dynamic providers (pulumi.dynamic.Resource) run through the `pulumi-resource-pulumi-nodejs` shim, which the
# upstream CLI tarball ships next to `pulumi`. Take it from the sdk module at the CLI's version.
SDK_DIR="$(cd "$MOD_CLI" && go mod download github.com/pulumi/pulumi/sdk/v3 && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)" \
  || die "cannot locate github.com/pulumi/pulumi/sdk/v3 in the module cache"
SHIM="$SDK_DIR/nodejs/dist/pulumi-resource-pulumi-nodejs"
[[ -f "$SHIM" ]] || die "missing $SHIM"
if [[ "$FORCE" == 0 ]] && cmp -s "$SHIM" "$BIN_DIR/pulumi-resource-pulumi-nodejs"; then
  log "reuse pulumi-resource-pulumi-nodejs (from sdk $(basename "$SDK_DIR"))"
else
  install -m 0755 "$SHIM" "$BIN_DIR/pulumi-resource-pulumi-nodejs"
  log "installed pulumi-resource-pulumi-nodejs (from sdk $(basename "$SDK_DIR"))"
fi

reported="$("$BIN_DIR/pulumi" version 2>/dev/null)" || die "$BIN_DIR/pulumi does not run"
[[ "$reported" == "$CLI_VERSION" ]] || die "$BIN_DIR/pulumi reports '$reported', expected $CLI_VERSION"

if [[ -x "$BIN_DIR/pulumi-resource-command" ]]; then
  log "found pulumi-resource-command in $BIN_DIR (not built by this script)"
else
  log "WARNING: pulumi-resource-command is not built: github.com/pulumi/pulumi-command/provider is not available" \
      "from the Go module proxy; programs using @pulumi/command resources will fail to load that provider"
fi

log "ok: pulumi $reported, pulumi-language-nodejs $NODEJS_VERSION in $BIN_DIR"
log "use: export PATH=\"$BIN_DIR:\$PATH\" PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
