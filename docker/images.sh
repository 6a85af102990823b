#!/usr/bin/env bash
# Builds, checks, pushes and loads the pachflow stage images. mk/images.mk calls this;
# run it directly as:
#   docker/images.sh build|push|minikube|sizes|tags|content-hash|installed-tag|stage-args [STAGE...]
#   docker/images.sh build-shared|shared-tags [builder python spark]  |  spark-runtime-tag
#
# Env: CONTAINER_ENGINE (docker|podman, auto), REGISTRY (default pachflow), BASE_IMAGE
# (default python:3.11-slim-bookworm), CA_BUNDLE (host CA bundle handed to builds as a
# secret, never stored in a layer), OVERWRITE=1 (allow replacing a tag whose content
# differs: for throwaway local registries only), SOURCE/REVISION (OCI labels), UV.
#
# Tags are <registry>/pachflow-<stage>:<version from stages/<stage>/pyproject.toml>.
# Pachyderm workers do not re-pull a tag they already have (pull policy IfNotPresent), so
# a tag must never change meaning: each image carries io.pachflow.content = a hash of
# everything that determines it (its Dockerfiles, its uv.lock slice, the source files of
# its workspace packages, the shared images' inputs), and `build` refuses to overwrite a
# tag with different content.
#
# The build logic is written once, in images built first (tag = hash of their inputs, so
# they are never overwritten): pachflow-builder (docker/builder: uv + the
# export-package/install-package scripts), the runtimes pachflow-python-runtime
# (docker/python-runtime) and pachflow-spark-runtime (docker/spark-runtime, built with the
# builder), and per stage pachflow-<stage>-installed (docker/stage/Dockerfile: the stage's
# packages installed on the runtime its Dockerfile names, `FROM ${PYTHON_INSTALLED}` or
# `FROM ${SPARK_INSTALLED}`). The stage's own Dockerfile then adds its command and labels.
# By hand, from the repo root, what `build split` does after `build-shared`:
#   podman build -f docker/stage/Dockerfile $(docker/images.sh stage-args split) \
#     --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt -t "$(docker/images.sh installed-tag split)" .
#   podman build -f stages/split/Dockerfile \
#     --build-arg PYTHON_INSTALLED="$(docker/images.sh installed-tag split)" -t pachflow/pachflow-split:0.1.0 .
set -euo pipefail
shopt -s inherit_errexit  # a failed build inside $(...) stops the script too
cd "$(dirname "$0")/.."

REGISTRY=${REGISTRY:-pachflow}
PUBLIC_BASE=docker.io/library/python:3.11-slim-bookworm  # fully qualified: podman has no default registry
LOCAL_BASE=localhost/pachflow-base:bookworm
BASE_IMAGE=${BASE_IMAGE:-$PUBLIC_BASE}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
UV=${UV:-$(command -v uv 2>/dev/null || echo "$HOME/.local/bin/uv")}  # as the Makefile installs it
SOURCE=${SOURCE:-$(git remote get-url origin 2>/dev/null || echo unknown)}
REVISION=${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}

die() { echo "images: $*" >&2; exit 2; }
say() { echo "images: $*" >&2; }

engine() {
  if [ -n "${CONTAINER_ENGINE:-}" ]; then echo "$CONTAINER_ENGINE"; return; fi
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then echo docker
  elif command -v podman >/dev/null 2>&1; then echo podman
  else die "no container engine: install docker or podman (or set CONTAINER_ENGINE)"; fi
}
ENGINE=$(engine)
# Docker needs BuildKit for RUN --mount (secrets, caches); podman supports it natively.
export DOCKER_BUILDKIT=1

all_stages() { for d in stages/*/Dockerfile; do basename "$(dirname "$d")"; done; }
version_of() {
  sed -nE 's/^version *= *"([^"]+)".*/\1/p' "stages/$1/pyproject.toml" | head -1
}
tag_of() { echo "$REGISTRY/pachflow-$1:$(version_of "$1")"; }
# The runtime a stage is installed on, from its Dockerfile: `FROM ${PYTHON_INSTALLED}` ->
# python, `FROM ${SPARK_INSTALLED}` -> spark.
runtime_of() {
  local kind
  kind=$(sed -nE 's/^FROM \$\{([A-Z]+)_INSTALLED\}.*/\1/p' "stages/$1/Dockerfile" | head -1)
  echo "${kind,,}"
}
exists() { "$ENGINE" image inspect "$1" >/dev/null 2>&1; }
label_of() {
  "$ENGINE" image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

lock_slice() {
  "$UV" export --frozen --package "$1" --no-dev --no-hashes --no-editable --no-header \
    --no-annotate
}
hash_files() {
  # Source files as they reach the image: .dockerignore drops tests and caches; docs
  # (*.md) do not change the image, so editing a README needs no new version.
  # One "<sha256> <path>" line a file, from one sha256sum for them all (a process per
  # file made each call of this script take seconds).
  find "$@" -type f ! -path '*/tests/*' ! -path '*/__pycache__/*' ! -name '*.pyc' \
    ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0r sha256sum -- \
    | sed -E 's/^([0-9a-f]{64}) /\1/'
}
# What pachflow-<stage>-installed is made of: the stage's lock slice and workspace
# packages, the shared docker/stage/Dockerfile and its runtime's inputs.
installed_inputs() {
  local stage=$1 slice runtime
  slice=$(lock_slice "pachflow-$stage") || die "uv export failed for pachflow-$stage"
  runtime=$(runtime_of "$stage")
  [ -n "$runtime" ] || die "stages/$stage/Dockerfile builds FROM no \${PYTHON_INSTALLED} or \${SPARK_INSTALLED}"
  echo "$slice"
  # shellcheck disable=SC2046  # word splitting intended: one path per workspace package
  hash_files .dockerignore docker/stage $(grep '^\./' <<<"$slice")
  shared_inputs "$runtime"
}
# A stage image = its installed image + its own Dockerfile.
content_hash() {
  { installed_inputs "$1"; hash_files "stages/$1/Dockerfile"; } | sha256sum | cut -c1-64
}
installed_hash() { { installed_inputs "$1"; echo "$BASE_IMAGE"; } | sha256sum | cut -c1-64; }
installed_tag() { echo "$REGISTRY/pachflow-$1-installed:$(installed_hash "$1" | cut -c1-16)"; }
# What a package's pins step mounts: its third-party pins and the builder installing them.
# The class archive's workload: libs/spark and what it imports of ours (spark-runtime's
# Dockerfile bind-mounts the same folders).
SPARK_SOURCES=(libs/spark/src libs/stagekit/src)
pins_hash() {
  { lock_slice "$1" | grep -v '^\./'; shared_inputs builder; } | sha256sum | cut -c1-16
}
# What each shared image is made of (its tag is a hash of this and the base image). The
# builder's scripts do every export and install, so they are part of every image's content.
shared_inputs() {
  case "$1" in
    builder) hash_files docker/builder ;;
    python) shared_inputs builder; hash_files docker/python-runtime ;;
    spark)
      shared_inputs builder
      lock_slice pachflow-spark | grep -v '^\./'
      hash_files .dockerignore docker/spark-runtime "${SPARK_SOURCES[@]}" ;;  # its class archive's workload
    *) die "unknown shared image: $1" ;;
  esac
}
shared_name() { case "$1" in builder) echo builder ;; *) echo "$1-runtime" ;; esac; }
shared_hash() { { shared_inputs "$1"; echo "$BASE_IMAGE"; } | sha256sum | cut -c1-64; }
shared_tag() { echo "$REGISTRY/pachflow-$(shared_name "$1"):$(shared_hash "$1" | cut -c1-16)"; }
spark_runtime_tag() { shared_tag spark; }

# Build args, one KEY=VALUE a line. The *_HASH ones key the layer cache: podman < 5.4
# reuses a cached RUN step when only the content of its bind mounts changed, so each step
# that mounts something gets a build arg holding the hash of it (in the step's history).
shared_args() {
  case "$1" in
    builder | python) ;;
    spark)
      echo "BUILDER=$(shared_tag builder)"
      echo "PINS_HASH=$(pins_hash pachflow-spark)"
      echo "SPARK_SOURCES_HASH=$(hash_files "${SPARK_SOURCES[@]}" | sha256sum | cut -c1-16)" ;;
  esac
}
stage_args() {
  echo "BUILDER=$(shared_tag builder)"
  echo "RUNTIME=$(shared_tag "$(runtime_of "$1")")"
  echo "PACKAGE=pachflow-$1"
  echo "PINS_HASH=$(pins_hash "pachflow-$1")"
  echo "PACKAGES_HASH=$(installed_hash "$1" | cut -c1-16)"
}

secret_args() {
  if [ -f "$CA_BUNDLE" ]; then echo "--secret id=ca,src=$CA_BUNDLE"; fi
}

resolve_base() {
  # The public base by default; the registry-free local base when asked for, or when the
  # public one can be neither found locally nor pulled (air-gapped machines).
  if [ "$BASE_IMAGE" = "$LOCAL_BASE" ]; then
    exists "$LOCAL_BASE" || CONTAINER_ENGINE=$ENGINE docker/base/build-base.sh "$LOCAL_BASE" >&2
    return
  fi
  exists "$BASE_IMAGE" && return
  if timeout "${PULL_TIMEOUT:-120}" "$ENGINE" pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
    return
  fi
  say "cannot pull $BASE_IMAGE: building on the local base $LOCAL_BASE instead"
  BASE_IMAGE=$LOCAL_BASE
  exists "$LOCAL_BASE" || CONTAINER_ENGINE=$ENGINE docker/base/build-base.sh "$LOCAL_BASE" >&2
}

build_shared() {
  # builder | python | spark: built once per content (the tag is its hash), then reused.
  local kind=$1 tag list args=()
  tag=$(shared_tag "$kind")
  if exists "$tag"; then echo "$tag"; return; fi
  if [ "$kind" = spark ]; then build_shared builder >/dev/null; fi
  list=$(shared_args "$kind")  # not mapfile < <(...): a failure there would pass unseen
  [ -z "$list" ] || mapfile -t args <<<"$list"
  say "building $tag (shared: docker/$(shared_name "$kind"))"
  # shellcheck disable=SC2046
  # No --label here: a shared image's tag already is its content hash, and every label
  # (with its history entry) would be inherited into each stage image's config.
  "$ENGINE" build $(secret_args) -f "docker/$(shared_name "$kind")/Dockerfile" \
    --build-arg BASE_IMAGE="$BASE_IMAGE" "${args[@]/#/--build-arg=}" -t "$tag" . >&2
  echo "$tag"
}

build_installed() {
  # pachflow-<stage>-installed: docker/stage/Dockerfile for this stage, once per content.
  local stage=$1 tag list args=()
  tag=$(installed_tag "$stage")
  if exists "$tag"; then echo "$tag"; return; fi
  build_shared builder >/dev/null
  build_shared "$(runtime_of "$stage")" >/dev/null
  list=$(stage_args "$stage")  # not mapfile < <(...): a failure there would pass unseen
  [ -z "$list" ] || mapfile -t args <<<"$list"
  say "building $tag (docker/stage: pachflow-$stage on its runtime)"
  # shellcheck disable=SC2046
  "$ENGINE" build $(secret_args) -f docker/stage/Dockerfile "${args[@]/#/--build-arg=}" \
    -t "$tag" . >&2
  echo "$tag"
}

check_tag() {
  # Prints nothing when the stage must be built, "same" when its tag is up to date;
  # fails when the tag exists with other content (unless OVERWRITE=1).
  local stage=$1 tag hash current
  tag=$(tag_of "$stage")
  hash=$(content_hash "$stage")
  exists "$tag" || return 0
  current=$(label_of "$tag" io.pachflow.content)
  if [ "$current" = "$hash" ]; then echo same; return 0; fi
  if [ "${OVERWRITE:-}" = 1 ]; then say "$tag: content changed, overwriting (OVERWRITE=1)"; return 0; fi
  say "$tag already exists with different content (its sources, libs, Dockerfile or lock \
slice changed since it was built). Pachyderm will not re-pull a reused tag: bump the \
version in stages/$stage/pyproject.toml (then 'make pin'), or set OVERWRITE=1 for a \
throwaway local tag."
  return 1
}

build_stage() {
  local stage=$1 tag hash runtime installed
  tag=$(tag_of "$stage")
  hash=$(content_hash "$stage")
  runtime=$(runtime_of "$stage")
  installed=$(build_installed "$stage")
  say "building $tag"
  # The labels that change with every version or commit are given here, not in the
  # Dockerfile (podman reuses a cached LABEL step even when build args in it changed).
  # shellcheck disable=SC2046
  "$ENGINE" build $(secret_args) -f "stages/$stage/Dockerfile" \
    --build-arg "${runtime^^}_INSTALLED=$installed" \
    --label "org.opencontainers.image.version=$(version_of "$stage")" \
    --label "org.opencontainers.image.source=$SOURCE" \
    --label "org.opencontainers.image.revision=$REVISION" \
    --label "io.pachflow.content=$hash" -t "$tag" . >&2
}

size_of() {
  if exists "$1"; then
    "$ENGINE" image inspect --format '{{ .Size }}' "$1" | awk '{printf "%.0f MB", $1 / 1e6}'
  else echo "not built"; fi
}

cmd=${1:-build}; shift || true
case "$cmd" in
  build-shared | shared-tags)
    kinds=("$@"); [ ${#kinds[@]} -gt 0 ] || kinds=(builder python spark)
    for k in "${kinds[@]}"; do
      case "$k" in builder | python | spark) ;; *) die "unknown shared image: $k (builder, python, spark)" ;; esac
    done
    if [ "$cmd" = build-shared ]; then resolve_base; for k in "${kinds[@]}"; do build_shared "$k"; done
    else for k in "${kinds[@]}"; do shared_tag "$k"; done; fi
    exit 0 ;;
  spark-runtime-tag) spark_runtime_tag; exit 0 ;;
esac
stages=("$@"); [ ${#stages[@]} -gt 0 ] || mapfile -t stages < <(all_stages)
for s in "${stages[@]}"; do [ -f "stages/$s/Dockerfile" ] || die "no stages/$s/Dockerfile"; done

case "$cmd" in
  build)
    # Check every tag before building anything: all conflicts reported, none half-done.
    todo=() failed=0
    for s in "${stages[@]}"; do
      if state=$(check_tag "$s"); then
        if [ "$state" = same ]; then say "$(tag_of "$s") is up to date"; else todo+=("$s"); fi
      else failed=1; fi
    done
    [ "$failed" = 0 ] || exit 2
    if [ ${#todo[@]} -gt 0 ]; then
      resolve_base
      for s in "${todo[@]}"; do build_stage "$s"; done
    fi
    for s in "${stages[@]}"; do echo "$(tag_of "$s")  $(size_of "$(tag_of "$s")")"; done ;;
  push)
    for s in "${stages[@]}"; do
      exists "$(tag_of "$s")" || die "$(tag_of "$s") not built: run 'make images' first"
      "$ENGINE" push "$(tag_of "$s")"
    done ;;
  minikube)
    command -v minikube >/dev/null 2>&1 || die "minikube not found"
    for s in "${stages[@]}"; do
      say "loading $(tag_of "$s") into minikube"
      minikube image load "$(tag_of "$s")"
    done ;;
  sizes) for s in "${stages[@]}"; do echo "$(tag_of "$s")  $(size_of "$(tag_of "$s")")"; done ;;
  tags) for s in "${stages[@]}"; do tag_of "$s"; done ;;
  content-hash) for s in "${stages[@]}"; do echo "$s $(content_hash "$s")"; done ;;
  installed-tag) for s in "${stages[@]}"; do installed_tag "$s"; done ;;
  stage-args)
    for s in "${stages[@]}"; do stage_args "$s" | sed 's/^/--build-arg /' | paste -sd' '; done ;;
  *) die "usage: $0 build|push|minikube|sizes|tags|content-hash|installed-tag|stage-args [STAGE...] | build-shared|shared-tags [builder python spark] | spark-runtime-tag" ;;
esac
