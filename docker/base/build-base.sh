#!/usr/bin/env bash
# Builds a Debian bookworm + Python 3.11 base image WITHOUT any image registry, for
# air-gapped builds: debootstrap (minbase) from the Debian mirror apt already uses, add
# python3 + venv + CA certificates in the chroot, then import the tree as an image.
# Usage: build-base.sh [IMAGE] (default localhost/pachflow-base:bookworm); needs root.
# Env: CONTAINER_ENGINE (podman|docker), DEBIAN_MIRROR (default: first URI apt uses).
set -euo pipefail

image=${1:-localhost/pachflow-base:bookworm}
engine=${CONTAINER_ENGINE:-$(command -v podman >/dev/null 2>&1 && echo podman || echo docker)}
suite=bookworm

die() { echo "base-image: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "debootstrap needs root: run as root or with sudo"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap not found: apt-get install -y debootstrap"

mirror_from_apt() {
  # First Debian archive URI apt is configured with (deb822 or one-line format).
  { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true
    grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null 2>&1 \
      | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}' || true
  } | grep -v -- '-security' | head -1 || true
}
mirror=${DEBIAN_MIRROR:-$(mirror_from_apt)}
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$(mktemp -d /tmp/pachflow-rootfs.XXXXXX)
trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT

echo "base-image: debootstrap $suite from $mirror" >&2
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
  || { cat "$rootfs.log" >&2; die "debootstrap failed (log above)"; }
# python3 from Debian is 3.11 on bookworm, the project's Python; venv for ensurepip,
# ca-certificates so pip/uv verify PyPI's certificate.
chroot "$rootfs" /bin/sh -c 'export DEBIAN_FRONTEND=noninteractive \
  && apt-get -o APT::Sandbox::User=root update -q \
  && apt-get -o APT::Sandbox::User=root install -y -q --no-install-recommends python3 python3-venv ca-certificates \
  && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin' >"$rootfs.log" 2>&1 \
  || { cat "$rootfs.log" >&2; die "installing python3 in the chroot failed (log above)"; }
rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*

echo "base-image: importing as $image" >&2
tar -C "$rootfs" --numeric-owner -c . | "$engine" import \
  --change 'CMD ["/bin/bash"]' \
  --change 'ENV LANG=C.UTF-8' \
  --change "LABEL org.opencontainers.image.title=pachflow-base org.opencontainers.image.description=debootstrap-${suite}-python3" \
  - "$image" >/dev/null
echo "$image"
