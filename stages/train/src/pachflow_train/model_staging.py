"""The fitted model's way back from a Spark Connect server that does not share this
process's filesystem (on Kubernetes the server is another pod): `--model-staging
s3a://bucket/prefix` names an object-store prefix both reach. The server saves the
PipelineModel to `<prefix>/<run id>/sparkml` through S3A, train copies that tree down
with pyarrow into OUTPUT_DIR/model (then removes `<prefix>/<run id>`) and logs the
MLflow model from there (saved_model), as from a server on this host. Only a Connect
session uses it: a classic session saves from this process.

The store is usually not the worker's S3 gateway sidecar (which serves the input
buckets read-only) but, e.g., MLflow's artifact bucket: its endpoint and keys come from
`PACHFLOW_TRAIN_MODEL_STAGING_S3_ENDPOINT`, `..._AWS_ACCESS_KEY_ID` and
`..._AWS_SECRET_ACCESS_KEY`, each falling back to the unprefixed variable (S3_ENDPOINT,
AWS_*; object_store.S3Access)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pachflow_spark.object_store import S3Access, filesystem_of, object_store_url

ENV_PREFIX = "PACHFLOW_TRAIN_MODEL_STAGING_"  # the staging store's own S3_ENDPOINT, keys


def staging_access() -> S3Access:
    """How this process and the server reach the staging store."""
    return S3Access.from_env(prefix=ENV_PREFIX)


def run_prefix(staging: str, run_id: str) -> str:
    """`s3a://bucket/prefix` + run id: what one run stages, removed once logged (so never
    the bare prefix: that would remove every other run's staged model too)."""
    url = object_store_url(staging)
    if url is None:
        raise ValueError(f"not an object-store URL: {staging!r}")
    if not run_id.strip("/"):
        raise ValueError(f"no MLflow run id to stage the model of under {url}")
    return f"{url.rstrip('/')}/{run_id}"


@contextmanager
def hadoop_settings(spark: Any, options: dict[str, str]) -> Iterator[None]:
    """`options` (fs.s3a.*) in the session's configuration while the body runs: a Spark
    ML writer takes no read/write options, but its writes build their Hadoop
    configuration from the session's (SessionState.newHadoopConf). Earlier values are
    restored after."""
    before = {key: spark.conf.get(key, None) for key in options}
    for key, value in options.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def save_on_server(model: Any, spark: Any, url: str, access: S3Access) -> None:
    """The server saves `model` to `url` (s3a://) with the staging store's S3A settings."""
    with hadoop_settings(spark, access.s3a_options()):
        model.write().overwrite().save(url)


def copy_down(url: str, dest: Path, access: S3Access) -> None:
    """The saved model tree under `url` into the new local directory `dest`."""
    import pyarrow.fs as pafs

    filesystem, root = filesystem_of(url, access)
    dest.mkdir(parents=True)
    pafs.copy_files(
        root,
        str(dest),
        source_filesystem=filesystem,
        destination_filesystem=pafs.LocalFileSystem(),
    )


def remove(url: str, access: S3Access) -> None:
    """Everything under `url` (a run's staging prefix)."""
    filesystem, root = filesystem_of(url, access)
    filesystem.delete_dir(root)
