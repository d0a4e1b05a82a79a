#!/usr/bin/env bash
# Builds the four images from the Containerfile (`npm run images`):
#   localhost/egress-router, localhost/egress-http-proxy, localhost/egress-dns-proxy,
#   localhost/egress-pod-wait (tag latest).
#
# Usage: images/build-images.sh [--if-changed] [--quiet]
#   --if-changed   build nothing when all four exist and were built from the same inputs (the
#                  tests use this: one build per test run, reused while nothing changed)
#   --quiet        only the summary
#
# The base: $BASE_IMAGE when set; else docker.io/library/node:24-bookworm-slim when present or
# pullable within a few seconds; else localhost/egress-router-base:node24, built by
# images/base/build-local-base.sh when missing (no registry needed: Debian packages and npm).
#
# Environment (optional): BASE_IMAGE, IMAGE_VERSION (default: package.json's version),
# IMAGE_SOURCE (the org.opencontainers.image.source label), PULL_TIMEOUT (seconds, default 15),
# CONTAINERS_CONF (default images/podman/containers.conf).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$repo/images/podman/containers.conf}"

if_changed=false
quiet=false
for arg in "$@"; do
  case $arg in
    --if-changed) if_changed=true ;;
    --quiet) quiet=true ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-images: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

log() { printf 'build-images: %s\n' "$*" >&2; }

# target name -> image name
targets=(egress-router http-proxy dns-proxy pod-wait)
declare -A image_of=(
  [egress-router]=localhost/egress-router
  [http-proxy]=localhost/egress-http-proxy
  [dns-proxy]=localhost/egress-dns-proxy
  [pod-wait]=localhost/egress-pod-wait
)
label=io.github.egress-router.inputs
official_base=docker.io/library/node:24-bookworm-slim
local_base=localhost/egress-router-base:node24

command -v podman >/dev/null || { log "needs podman (scripts/install-system-deps installs it)"; exit 1; }

started=$SECONDS

# ---- The base image.
base="${BASE_IMAGE:-}"
if [[ -z $base ]]; then
  if podman image exists "$official_base"; then
    base=$official_base
  elif timeout "${PULL_TIMEOUT:-15}" podman pull --quiet "$official_base" >/dev/null 2>&1; then
    base=$official_base
  else
    log "no registry answered for $official_base: using $local_base"
    "$repo/images/base/build-local-base.sh" --if-missing
    base=$local_base
  fi
fi
base_id="$(podman image inspect --format '{{.Id}}' "$base")"

version="${IMAGE_VERSION:-$(node -p 'require("./package.json").version')}"
source_url="${IMAGE_SOURCE:-https://github.com/example/egress-router}"

# ---- What decides the images' content: the build context the Containerfile sees (less tests) and
# the build arguments. The images carry its hash as a label.
inputs_hash="$(
  {
    find Containerfile .containerignore package.json package-lock.json tsconfig.json bin src scripts/bundle.mjs \
      images/tsconfig.image.json images/base \
      -type f ! -name '*.test.ts' ! -path '*/testdata/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    printf '%s\n' "$base_id" "$version" "$source_url"
  } | sha256sum | cut -c1-16
)"

if $if_changed; then
  up_to_date=true
  for target in "${targets[@]}"; do
    current="$(podman image inspect --format "{{ index .Labels \"$label\" }}" "${image_of[$target]}:latest" 2>/dev/null || true)"
    [[ $current == "$inputs_hash" ]] || up_to_date=false
  done
  if $up_to_date; then
    $quiet || log "images are up to date (inputs $inputs_hash)"
    exit 0
  fi
fi

# ---- What the build may use from this machine: its npm cache (as an overlay, not changed), so
# that `npm ci` in the build needs no network once the repository's own `npm ci` ran; and the CA
# bundle Node trusts here, for a registry behind a TLS-inspecting proxy.
build_args=(--build-arg "BASE_IMAGE=$base" --build-arg "VERSION=$version" --build-arg "SOURCE=$source_url")
volumes=()
npm_cache="$(npm config get cache 2>/dev/null || true)"
if [[ -n $npm_cache && -d $npm_cache/_cacache ]]; then
  volumes+=(--volume "$npm_cache:/root/.npm:O")
fi
if [[ -n ${NODE_EXTRA_CA_CERTS:-} && -f $NODE_EXTRA_CA_CERTS ]]; then
  volumes+=(--volume "$NODE_EXTRA_CA_CERTS:/run/build-ca.crt:ro")
  build_args+=(--build-arg NODE_EXTRA_CA_CERTS=/run/build-ca.crt)
fi

log "base $base; inputs $inputs_hash"
for target in "${targets[@]}"; do
  image="${image_of[$target]}:latest"
  step=$SECONDS
  output="$(mktemp)"
  # --network host: RUN steps (npm, apt) use the host's network as it is. The default, a private
  # network, would make podman create a bridge on the host, turn on the host's IPv4 forwarding and
  # add firewall rules.
  if ! podman build --layers --network host --target "$target" --tag "$image" --build-arg "INPUTS=$inputs_hash" \
    "${build_args[@]}" "${volumes[@]}" --file Containerfile . >"$output" 2>&1; then
    tail -n 40 "$output" >&2
    rm -f "$output"
    log "building $image failed"
    exit 1
  fi
  $quiet || grep -E '^(\[[0-9]+/[0-9]+] )?STEP' "$output" >&2 || true
  rm -f "$output"
  log "$image built in $((SECONDS - step)) s"
done

log "done in $((SECONDS - started)) s"
printf '%-36s %-14s %s\n' IMAGE ID SIZE
for target in "${targets[@]}"; do
  podman image inspect --format "{{.Id}} {{.Size}}" "${image_of[$target]}:latest" |
    awk -v name="${image_of[$target]}:latest" '{ printf "%-36s %-14s %.1f MB\n", name, substr($1, 1, 12), $2 / 1e6 }'
done
