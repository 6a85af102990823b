"""Running the pipeline specs on one machine, with Pachyderm's semantics, over the local
store (pachflow_store)."""

from pachflow.local.containers import CONTAINER_RUNTIMES
from pachflow.local.runtime import RUNTIMES

RUNTIMES.update(CONTAINER_RUNTIMES)  # `pachflow run --runtime podman|docker`
