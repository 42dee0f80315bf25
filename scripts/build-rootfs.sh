#!/usr/bin/env bash
# Builds the Debian root filesystem the systemd test hosts boot (systemd-nspawn), once, from the Debian mirror
# apt is configured with here; prints its path last. Cached in $GAUDI_PD_ROOTFS_CACHE (default <repo>/.cache/rootfs)
# under a name that is the hash of the recipe below, so changing it builds a new tree and an old one is never
# reused. Hosts mount it read-only, so any number of test runs may share one cache.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${GAUDI_PD_ROOTFS_CACHE:-$ROOT/.cache/rootfs}"
SUITE=bookworm
# systemd as PID 1, a stock sshd, and what the host scripts and their services use (python3 for a router
# virtualenv whose base interpreter is the distribution's).
PACKAGES=systemd,systemd-sysv,dbus,openssh-server,curl,iproute2,procps,python3
# A fresh machine id per boot; root's key directory (the harness binds authorized_keys into it); a persistent
# journal (a restarted host keeps its logs); no login prompts on a console nobody reads.
HOOKS=(
  'rm -f "$1"/etc/machine-id "$1"/var/lib/dbus/machine-id; : >"$1"/etc/machine-id'
  'mkdir -p "$1"/root/.ssh "$1"/var/log/journal && chmod 0700 "$1"/root/.ssh'
  'chroot "$1" systemctl mask console-getty.service getty@.service >/dev/null'
)

[ "$(id -u)" = 0 ] || { echo "build-rootfs: needs root" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "build-rootfs: mmdebstrap not found: apt-get install mmdebstrap" >&2; exit 1; }
mkdir -p "$CACHE"
TREE="$CACHE/$SUITE-$(printf '%s\n' "$PACKAGES" "${HOOKS[@]}" | sha256sum | cut -c1-12)"
if [ ! -f "$TREE/.gaudi-pd-rootfs" ]; then
  # Concurrent first runs wait for one another instead of building the same tree twice.
  exec 9>"$CACHE/.lock"
  flock 9
fi
if [ ! -f "$TREE/.gaudi-pd-rootfs" ]; then
  sources=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    if [ -s "$f" ]; then sources+=("$f"); fi
  done
  [ "${#sources[@]}" -gt 0 ] || { echo "build-rootfs: apt has no sources configured" >&2; exit 1; }
  rm -rf "$TREE.tmp"
  echo "build-rootfs: building $TREE from ${sources[*]}" >&2
  started=$SECONDS
  # Docs, man pages and translations are never read in a test host.
  mmdebstrap --quiet --mode=root --variant=apt --include="$PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    "${HOOKS[@]/#/--customize-hook=}" \
    "$SUITE" "$TREE.tmp" "${sources[@]}" >&2
  touch "$TREE.tmp/.gaudi-pd-rootfs"
  mv "$TREE.tmp" "$TREE"
  echo "build-rootfs: built in $((SECONDS - started)) s ($(du -sm "$TREE" | cut -f1) MB)" >&2
fi
echo "$TREE"
