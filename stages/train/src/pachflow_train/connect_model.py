"""mlflow.spark.save_model/log_model for a model fitted on a Spark Connect session.

MLflow 3.17 has two Spark paths: classic pyspark.ml models, which it saves through Spark to
a temporary DFS directory and then copies to a local directory through the JVM's Hadoop
FileSystem (`SparkContext._gateway`: py4j), and `pyspark.ml.connect` models (the Spark 3.5
subset, saved client-side). Spark 4's pyspark.ml models on a Connect session are neither:
their save runs on the server (fine), but there is no py4j gateway on the client, so the
copy fails (and so does the load that validates the input example, which copies the
other way). With a remote artifact store (an `http://` tracking server: mlflow-artifacts:)
MLflow first has Spark save straight into the store and falls back to the local save only
on a py4j error; on Connect the server's error is another type and ends the call. Those
are the only classic-only steps, so for the duration of one log_model: the direct save
falls back on any error, and the copies do what they do when the server and this process
share a filesystem (the server of `pachflow run`, or any server on this host): a local
move of the directory the server wrote (MLFLOW_DFS_TMP, default /tmp/mlflow), and loading
from the local model directory as it is. On a remote server that directory is
on the server's disk: then MLFLOW_DFS_TMP must be storage both see (a shared mount).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _local(path: str) -> Path:
    return Path(path[len("file:") :] if path.startswith("file:") else path)


@contextmanager
def connect_model_copies() -> Iterator[None]:
    """While active, mlflow.spark moves the server-written model with the filesystem."""
    import mlflow.spark as mlflow_spark
    from mlflow.spark import _HadoopFileSystem

    direct_save = mlflow_spark._maybe_save_model

    def maybe_save_model(spark_model: object, model_dir: str) -> bool:
        try:
            return bool(direct_save(spark_model, model_dir))
        except Exception:  # e.g. no Hadoop FileSystem for mlflow-artifacts: on the server
            return False

    def copy_to_local_file(cls: type, src: str, dst: str, remove_src: bool) -> None:
        source = _local(src)
        if not source.exists():
            raise RuntimeError(
                f"the Spark Connect server saved the model to {src}, which this process "
                "cannot see: set MLFLOW_DFS_TMP to a directory shared with the server"
            )
        if remove_src:
            shutil.move(source, dst)
        else:
            shutil.copytree(source, dst)

    def maybe_copy_from_uri(
        cls: type, src_uri: str, dst_path: str, local_model_path: str | None = None
    ) -> str:
        from mlflow.artifacts import download_artifacts

        return local_model_path or download_artifacts(src_uri)

    replaced = {
        "copy_to_local_file": classmethod(copy_to_local_file),
        "maybe_copy_from_uri": classmethod(maybe_copy_from_uri),
    }
    originals = {name: _HadoopFileSystem.__dict__[name] for name in replaced}
    for name, method in replaced.items():
        setattr(_HadoopFileSystem, name, method)
    mlflow_spark._maybe_save_model = maybe_save_model
    try:
        yield
    finally:
        mlflow_spark._maybe_save_model = direct_save
        for name, method in originals.items():
            setattr(_HadoopFileSystem, name, method)
