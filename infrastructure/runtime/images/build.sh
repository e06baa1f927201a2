#!/usr/bin/env bash
# Build the images of Docker deckies and of compose with no image registry: a Debian base made
# by debootstrap from the Debian mirror and loaded with `docker import`, then the project's
# emulator (and optionally app) image FROM it, installed from a wheelhouse built here, and
# optionally PostgreSQL and Redis images FROM it with Debian's packages (apt inside the build
# reaches the same mirror).
#
# Idempotent and cached: the base is built only when missing; an image is rebuilt only when its
# sources changed (its `decnet.source` label holds their hash). --force rebuilds all.
#
#   infrastructure/runtime/images/build.sh                       # base + emulator
#   infrastructure/runtime/images/build.sh --app                 # + app (compose's decnet image)
#   infrastructure/runtime/images/build.sh --app --services      # + postgres, redis: all compose runs
#
# Knobs: DECNET_DOCKER_BASE_IMAGE, DECNET_DOCKER_EMULATOR_IMAGE, DECNET_APP_IMAGE (image names,
# as the runtime reads them), DECNET_POSTGRES_IMAGE, DECNET_REDIS_IMAGE (as compose.yaml reads
# them), DEBIAN_MIRROR, PYTHON (the interpreter whose pip builds wheels).
set -euo pipefail
cd "$(dirname "$0")/../../.."

base=${DECNET_DOCKER_BASE_IMAGE:-decnet-es/base:bookworm}
emulator=${DECNET_DOCKER_EMULATOR_IMAGE:-decnet-es/emulator:latest}
app=${DECNET_APP_IMAGE:-decnet-es/app:latest}
postgres=${DECNET_POSTGRES_IMAGE:-decnet-es/postgres:15}
redis=${DECNET_REDIS_IMAGE:-decnet-es/redis:7}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
python=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
force=false
targets=(emulator)
services=()
for arg in "$@"; do
  case $arg in
    --force) force=true ;;
    --app) targets+=(app) ;;
    --services) services=(postgres redis) ;;
    *) echo "usage: $0 [--force] [--app] [--services]" >&2; exit 2 ;;
  esac
done

has_image() { docker image inspect "$1" >/dev/null 2>&1; }

if $force || ! has_image "$base"; then
  root=$(mktemp -d /tmp/decnet-base.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  echo "images: debootstrap bookworm into $root" >&2
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
  rm -f "$root.log"
  tar -C "$root" -c . | docker import -c 'CMD ["/bin/bash"]' - "$base" >/dev/null
  echo "images: $base imported" >&2
fi

# What the images are built from: the packages' files and pyproject.toml.
source_hash=$(
  find pyproject.toml README.md domain application infrastructure interfaces projections \
    -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
)
source_hash="$source_hash-$(docker image inspect -f '{{.Id}}' "$base" | cut -c8-19)"

wheels_built=false
for target in "${targets[@]}"; do
  image=$([ "$target" = app ] && echo "$app" || echo "$emulator")
  current=$(docker image inspect -f '{{index .Config.Labels "decnet.source"}}' "$image" 2>/dev/null || true)
  if ! $force && [ "$current" = "$source_hash" ]; then
    echo "images: $image is current ($source_hash)" >&2
    continue
  fi
  if ! $wheels_built; then
    rm -rf build/wheelhouse
    # Wheels resolve for the host's Python; Debian bookworm has 3.11.2, whose redis client
    # also wants async-timeout (a marker for < 3.11.3), so that one is added by name.
    "$python" -m pip wheel -q --wheel-dir build/wheelhouse . 'async-timeout>=4.0.3' 2>&1 \
      | grep -v "^WARNING: Location '.*' is ignored" >&2 || true
    [ -n "$(ls build/wheelhouse/decnet_es-*.whl 2>/dev/null)" ] || { echo "images: pip wheel failed" >&2; exit 1; }
    wheels_built=true
  fi
  log=$(mktemp)
  docker build --target "$target" --build-arg "BASE_IMAGE=$base" \
    --label "decnet.source=$source_hash" -t "$image" . >"$log" 2>&1 \
    || { tail -30 "$log" >&2; rm -f "$log"; exit 1; }
  rm -f "$log"
  echo "images: $image built ($source_hash)" >&2
done

# PostgreSQL and Redis for compose: each from its own folder here (Dockerfile + entrypoint.sh).
for service in "${services[@]}"; do
  image=$([ "$service" = postgres ] && echo "$postgres" || echo "$redis")
  context=infrastructure/runtime/images/$service
  service_hash=$(find "$context" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  service_hash="$service_hash-$(docker image inspect -f '{{.Id}}' "$base" | cut -c8-19)"
  current=$(docker image inspect -f '{{index .Config.Labels "decnet.source"}}' "$image" 2>/dev/null || true)
  if ! $force && [ "$current" = "$service_hash" ]; then
    echo "images: $image is current ($service_hash)" >&2
    continue
  fi
  log=$(mktemp)
  docker build --build-arg "BASE_IMAGE=$base" --label "decnet.source=$service_hash" \
    -t "$image" "$context" >"$log" 2>&1 \
    || { tail -30 "$log" >&2; rm -f "$log"; exit 1; }
  rm -f "$log"
  echo "images: $image built ($service_hash)" >&2
done
