"""File paths as the Spark that runs a stage's jobs sees them.

A stage reads and writes under /pfs (its argv says so, as on a Pachyderm worker). When it
runs in a container of `pachflow run --runtime podman|docker` and its Spark is the host's
(the run's engine, Connect server or standalone cluster, `--spark`), the container's /pfs
is a bind mount of a host directory the Spark JVM knows by its host path: the runner
names that directory in PACHFLOW_SPARK_HOST_PFS, and every path a stage hands to Spark
goes through `spark_path`; a path Spark names back (in an error) through `pfs_path`.
Scratch files Spark reads or writes (train's fit sample, the saved model) are in the
datum's TMPDIR, which the runner mounts at the same path on both sides.
Unset (in-process Spark, the local runtime, a Pachyderm worker) both return the path as is.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The host directory mounted at /pfs in the stage's container, for a Spark on the host.
HOST_PFS_ENV = "PACHFLOW_SPARK_HOST_PFS"
PFS = "/pfs"


def spark_path(path: str | Path) -> str:
    """`path` as the stage's Spark sees it: /pfs/... under $PACHFLOW_SPARK_HOST_PFS."""
    text = str(path)
    host = os.environ.get(HOST_PFS_ENV, "").rstrip("/")
    if host and (text == PFS or text.startswith(PFS + "/")):
        return host + text[len(PFS) :]
    return text


def pfs_path(path: str) -> str:
    """A path Spark named, as the stage knows it: `spark_path` undone."""
    host = os.environ.get(HOST_PFS_ENV, "").rstrip("/")
    if host and (path == host or path.startswith(host + "/")):
        return PFS + path[len(host) :]
    return path
