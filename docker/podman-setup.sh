#!/usr/bin/env bash
# One-time machine setup for building and running the images with rootful podman on a
# Debian host with no Docker engine (this is what CI does; see docs in infra/ and mk/images.mk).
# - runc, not crun: crun fails on hosts with hybrid cgroups.
# - default ulimits: podman's defaults exceed the hard limits of some CI sandboxes.
# - debootstrap: `make base-image` builds the base image from Debian packages, no registry.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1 \
  || ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update -q
  apt-get install -y -q podman runc debootstrap
fi
conf=/etc/containers/containers.conf
if ! grep -q 'pachflow' "$conf" 2>/dev/null; then
  mkdir -p /etc/containers
  cat >>"$conf" <<'CONF'
# pachflow: podman settings for CI hosts (docker/podman-setup.sh)
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[engine]
runtime = "runc"
CONF
fi
podman info --format '{{.Host.OCIRuntime.Name}}' >/dev/null
