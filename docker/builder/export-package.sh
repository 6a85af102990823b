#!/bin/sh
# Writes what one workspace package needs at run time, for a runtime stage to install:
#   $OUT/requirements.txt  its exact third-party pins: its slice of uv.lock, nothing else
#   $OUT/wheels/           its workspace packages (itself + the libs it uses), non-editable
# Usage, in the pachflow-builder image with the repo copied to the working dir:
#   export-package PACKAGE [--requirements-only]        (OUT defaults to /out)
# The optional "ca" build secret (the host's CA bundle, for networks that intercept TLS)
# is used when the RUN step mounts it.
set -eu
usage="usage: export-package PACKAGE [--requirements-only]"
package=${1:?$usage}
out=${OUT:-/out}
if [ -f /run/secrets/ca ]; then export SSL_CERT_FILE=/run/secrets/ca; fi

slice() {
  uv export --frozen --package "$package" --no-dev --no-hashes --no-header --no-annotate "$@"
}
mkdir -p "$out/wheels"
slice --no-emit-workspace >"$out/requirements.txt"
case "${2:-}" in
  --requirements-only) exit 0 ;;
  "") ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
workspace=$(slice --no-editable | grep '^\./')
for path in $workspace; do
  uv build --quiet --wheel --out-dir "$out/wheels" "$path"
done
