"""pytest plugin: fixtures registered for every test suite in the workspace.

- `mlflow_server` (session): a real `mlflow server` on a free loopback port, started once
  per pytest session on first use and shared by every suite (train, provenance,
  integration). By default it is the production-like one (pachflow_testing.mlflow_production:
  PostgreSQL backend, basic auth, artifacts in s3rver); the session then runs as its
  pipeline user (MLFLOW_TRACKING_USERNAME/PASSWORD set for the whole session, as the
  mlflow-credentials secret sets them in a worker). `PACHFLOW_TEST_MLFLOW=sqlite` selects
  the embedded SQLite server without auth instead (what `make demo` uses). Without the
  PostgreSQL binaries the tests that need the server skip, saying how to install them.
- `mlflow_tracking_uri` (session): just that server's URI.
- `postgres_cluster` (session): the production server's PostgreSQL cluster (skips on SQLite).
- `dead_tracking_uri`: an http URI on a loopback port that refuses connections, for the
  "MLflow unreachable" paths.
- `tmpfs`: small tmpfs mounts for disk-full, no-inode and read-only faults (root only;
  skipped elsewhere).
- `warm_spark_engine` (session): one warmed-up Spark Connect server (its own JVM, from
  pyspark's jars, `local[2]`, 2 GB) on a free loopback port for the whole session, what
  `pachflow engine` is to a user; `.url` is `sc://127.0.0.1:PORT`. The tests that only
  need *a* chain run (the shared two-version history, the registry sequence, the demo's
  printed ids, scoring) pass it as PACHFLOW_RUN_SPARK, so they pay no cold JVM per
  train/score datum (~40 s -> ~10 s each at 20,000 rows); the tests that need *a*
  Connect server (the Connect-vs-in-process comparison, the s3a:// refusals) use it
  too. The in-process path (`--spark stage`, the default) stays checked by the README's
  clean-clone demo, the kill -9 test, the reproduction (`pachflow reproduce` runs
  in-process) and the engine tests' equality with it.
- `local_dag` (session): a two-version local store DAG with real MLflow runs and model
  versions (pachflow_testing.local_dag), for lineage tests.

- `mlflow_uris_restored` (autouse): after each test, MLflow's process-wide tracking and
  registry URIs are what they were before it. mlflow.set_tracking_uri()/set_registry_uri()
  also export MLFLOW_TRACKING_URI/MLFLOW_REGISTRY_URI into os.environ, so a test that
  calls them (or code that does, as `pachflow score`) would otherwise steer every later
  test's clients and every subprocess they start to its server.

PACHFLOW_REQUIRE_SERVICES=1 (CI) turns "PostgreSQL/s3rver not installed" into an error.

Markers by fixture: a test that uses a `spark` session fixture is marked `spark`, one that
uses `mlflow_server` (or a fixture built on it) `mlflow`, so `make test-fast` (unit tests:
`-m "not spark and not mlflow and not containers and not cluster"`) leaves them out
without every test having to say so.

Two workers (`make test` runs `pytest -n 2 --dist loadgroup`, pytest-xdist): the tests of a
module, and those on a costly session fixture several modules read, run on one worker
(pachflow_testing.worker_groups), so such a fixture is built once per session.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from pachflow_spark.cds_workload import warm_up_argv
from pachflow_spark.servers import ConnectServer, start_connect_server
from pachflow_stagekit.mlflow_access import mlflow_uris_kept
from pachflow_testing.local_dag import LocalDag, Version, local_dag
from pachflow_testing.mlflow_production import run_production_mlflow
from pachflow_testing.mlflow_server import MlflowServer, dead_uri, run_mlflow_server
from pachflow_testing.postgres import PostgresCluster, PostgresMissing
from pachflow_testing.services import REQUIRE_ENV
from pachflow_testing.tmpfs import tmpfs
from pachflow_testing.worker_groups import register as register_worker_groups
from pachflow_testing.worker_groups import write_groups

__all__ = ["LocalDag", "Version", "local_dag", "tmpfs"]

BACKEND_ENV = "PACHFLOW_TEST_MLFLOW"  # "production" (default) or "sqlite"


#: fixture name -> the marker a test using it gets: `make test-fast` (unit tests) runs
#: `-m "not spark and not mlflow and not containers and not cluster"` without every
#: test having to say that it starts Spark or needs the MLflow server.
MARKER_OF_FIXTURE = {"spark": "spark", "warm_spark_engine": "spark", "mlflow_server": "mlflow"}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for fixture, marker in MARKER_OF_FIXTURE.items():
            if fixture in used:
                item.add_marker(marker)
    write_groups(config, items)


def pytest_configure(config: pytest.Config) -> None:
    register_worker_groups(config)


@pytest.fixture(autouse=True)
def mlflow_uris_restored() -> Iterator[None]:
    with mlflow_uris_kept():
        yield


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    root = tmp_path_factory.mktemp("mlflow-server")
    if os.environ.get(BACKEND_ENV, "production") == "sqlite":
        with run_mlflow_server(root) as server:
            yield server
        return
    required = os.environ.get(REQUIRE_ENV) == "1"
    with ExitStack() as stack:
        try:
            server = stack.enter_context(run_production_mlflow(root, require_s3=required))
        except PostgresMissing as exc:
            if required:
                raise
            pytest.skip(f"{exc}; or run the tests on SQLite with {BACKEND_ENV}=sqlite")
        env = stack.enter_context(pytest.MonkeyPatch.context())
        assert server.credentials is not None
        for var, value in server.credentials.env().items():
            env.setenv(var, value)
        yield server


@pytest.fixture(scope="session")
def mlflow_tracking_uri(mlflow_server: MlflowServer) -> str:
    return mlflow_server.uri


@pytest.fixture(scope="session")
def postgres_cluster(mlflow_server: MlflowServer) -> PostgresCluster:
    if mlflow_server.postgres is None:
        pytest.skip(f"the MLflow test server runs on SQLite ({BACKEND_ENV}=sqlite)")
    return mlflow_server.postgres


@pytest.fixture
def dead_tracking_uri() -> str:
    return dead_uri()


@pytest.fixture(scope="session")
def warm_spark_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectServer]:
    root = tmp_path_factory.mktemp("spark-engine")
    server = start_connect_server(root / "server.log", master="local[2]", driver_memory="2g")
    try:  # the engine's own warm-up job, in a process of its own as the engine runs it
        subprocess.run(warm_up_argv(server.url), check=True, timeout=600)
        yield server
    finally:
        server.stop()
