"""pytest plugin: fixtures registered for every test suite in the workspace.

- `mlflow_server` (session): a real `mlflow server` on a free loopback port (SQLite backend,
  proxied artifacts); yields an `MlflowServer` (`.uri`, `.root`, ...). Started once per
  pytest session, on first use, and shared by every suite (train, provenance, integration).
- `mlflow_tracking_uri` (session): just that server's URI.
- `dead_tracking_uri`: an http URI on a loopback port that refuses connections, for the
  "MLflow unreachable" paths.
- `spark_connect_server` (session): a Spark Connect server (its own JVM, from pyspark's
  jars) on a free loopback port, `local[2]`; `.url` is `sc://127.0.0.1:PORT`.
- `spark_standalone_cluster` (session): a Spark standalone master and two workers (1 core,
  1 GB each), three JVMs on loopback; `.url` is `spark://127.0.0.1:PORT`.
- `local_dag` (session): a two-version local store DAG with real MLflow runs and model
  versions (pachflow_testing.local_dag), for lineage tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pachflow_spark.servers import (
    ConnectServer,
    StandaloneCluster,
    start_connect_server,
    start_standalone_cluster,
)
from pachflow_testing.local_dag import LocalDag, Version, local_dag
from pachflow_testing.mlflow_server import MlflowServer, dead_uri, run_mlflow_server

__all__ = ["LocalDag", "Version", "local_dag"]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    with run_mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as server:
        yield server


@pytest.fixture(scope="session")
def spark_connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectServer]:
    root = tmp_path_factory.mktemp("spark-connect")
    server = start_connect_server(root / "server.log", master="local[2]", driver_memory="2g")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def spark_standalone_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[StandaloneCluster]:
    cluster = start_standalone_cluster(tmp_path_factory.mktemp("spark-standalone"), workers=2)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def mlflow_tracking_uri(mlflow_server: MlflowServer) -> str:
    return mlflow_server.uri


@pytest.fixture
def dead_tracking_uri() -> str:
    return dead_uri()
