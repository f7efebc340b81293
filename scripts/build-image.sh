#!/usr/bin/env bash
# Build the ecs-reset-bot image with podman, without a Docker daemon or a container registry.
#
# The Dockerfile's base (python:3.11-slim-bookworm) comes from a registry; where there is none, this script
# makes a stand-in with debootstrap (Debian bookworm, Python 3.11 from Debian) and passes it through the
# Dockerfile's PYTHON_IMAGE build argument. The base is kept in podman's storage under a tag that names
# its recipe, so the next build reuses it, and a fresh machine (or a changed recipe) builds it anew.
#
#   scripts/build-image.sh                      # builds ecs-reset-bot:latest
#   IMAGE=ecs-reset-bot:dev scripts/build-image.sh
#   PYTHON_IMAGE=python:3.11.9-slim-bookworm scripts/build-image.sh   # a registry is reachable: use it
#
# Needs root (debootstrap, rootful podman). Installs podman, runc and debootstrap with apt-get if missing.
# Settings: IMAGE, PYTHON_IMAGE, DEBIAN_MIRROR (default http://deb.debian.org/debian), PIP_CA_BUNDLE (the
# CA bundle pip uses inside the build; default the host's, /etc/ssl/certs/ca-certificates.crt).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${IMAGE:-ecs-reset-bot:latest}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PIP_CA_BUNDLE="${PIP_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
SUITE=bookworm
PACKAGES=python3,python3-venv,ca-certificates
say() { printf '%s build-image: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# runc, cgroupfs and file limits this host allows (see the file); kept if the caller set CONTAINERS_CONF.
if [ -z "${CONTAINERS_CONF:-}" ]; then
  # shellcheck source=scripts/podman-settings.sh
  . scripts/podman-settings.sh
fi

if [ -z "${PYTHON_IMAGE:-}" ]; then
  recipe="$(printf '%s %s %s' "$SUITE" "$PACKAGES" "$DEBIAN_MIRROR" | sha256sum | cut -c1-12)"
  PYTHON_IMAGE="localhost/ecs-reset-bot-base:${SUITE}-python3.11-${recipe}"
  if podman image exists "$PYTHON_IMAGE"; then
    say "base $PYTHON_IMAGE: reused"
  else
    say "base $PYTHON_IMAGE: debootstrap $SUITE with $PACKAGES (a few minutes)"
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$work/rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 \
      || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
    chroot "$work/rootfs" python3 -c 'import sys, venv, ssl; assert sys.version_info[:2] == (3, 11), sys.version'
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
    tar -C "$work/rootfs" -c . | podman import --quiet \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change 'CMD ["python3"]' - "$PYTHON_IMAGE" >/dev/null
    rm -rf "$work/rootfs"
    say "base $PYTHON_IMAGE: made"
  fi
fi

cert_args=()
if [ -s "$PIP_CA_BUNDLE" ]; then
  cert_args=(--volume "$(realpath "$PIP_CA_BUNDLE"):/run/pip-ca.crt:ro" --build-arg PIP_CERT=/run/pip-ca.crt)
fi
say "building $IMAGE on $PYTHON_IMAGE"
# --format docker keeps HEALTHCHECK and STOPSIGNAL (the OCI image format has no field for a health check).
podman build --quiet --format docker --network host --pull=never \
  --build-arg PYTHON_IMAGE="$PYTHON_IMAGE" "${cert_args[@]}" --tag "$IMAGE" . >/dev/null
say "built $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
