#!/bin/sh
# Installs what export-package wrote into the image's venv ($VIRTUAL_ENV, default
# /opt/venv; created when the runtime has none yet). Run by a stage's runtime steps with
# the builder's /opt/uv bind-mounted, so uv and this script never land in the image:
#   install-package requirements FILE   the third-party pins, exactly (no resolution);
#                                       pins the venv already holds are skipped; tests/ pruned
#   install-package wheels DIR          the workspace packages' wheels, offline
# The optional "ca" build secret is used when the RUN step mounts it.
set -eu
uv=/opt/uv/bin/uv
venv=${VIRTUAL_ENV:-/opt/venv}
export UV_LINK_MODE=copy UV_NO_PROGRESS=1
if [ -f /run/secrets/ca ]; then export SSL_CERT_FILE=/run/secrets/ca; fi

case "${1:-}:${2:-}" in
  requirements:?*)
    [ -x "$venv/bin/python" ] || "$uv" venv --quiet --python python3 "$venv"
    "$uv" pip install --quiet --python "$venv/bin/python" --no-deps -r "$2"
    find "$venv" -depth -type d -name tests -exec rm -rf {} + ;;
  wheels:?*)
    "$uv" pip install --quiet --python "$venv/bin/python" --no-deps --no-index "$2"/*.whl ;;
  *)
    echo "usage: install-package requirements FILE | wheels DIR" >&2; exit 2 ;;
esac
