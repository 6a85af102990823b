"""Shared fixtures for train's tests: one SparkSession, small feature sets, a CLI runner.

The MLflow server itself comes from the pachflow_testing plugin (`mlflow_server`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pachflow_spark import SparkSettings, build_session
from pachflow_testing.features import write_features

N_ROWS = 3000
FRAUD_RATE = 0.05


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    session = build_session("pachflow-train-tests", SparkSettings("local[2]", "2g", 2))
    yield session


@pytest.fixture(scope="session")
def features_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`etl`-like input: 3000 customers, ~5% fraud, in two shard files."""
    root = tmp_path_factory.mktemp("features") / "etl"
    write_features(root, N_ROWS, fraud_rate=FRAUD_RATE, n_files=2)
    return root


@dataclass
class Invocation:
    result: Result
    output_dir: Path
    env: dict[str, str]

    @property
    def exit_code(self) -> int:
        return self.result.exit_code


class TrainWorker:
    """train as a Pachyderm worker runs it: fresh ids, the worker's env, the CLI in-process
    (the session's SparkSession is reused by getOrCreate)."""

    @staticmethod
    def new_id() -> str:
        """A fresh 32-hex id, like Pachyderm's job and commit ids."""
        return uuid.uuid4().hex

    def env(
        self, job: str | None = None, etl_commit: str | None = None, datum: str = "datum-0"
    ) -> dict[str, str]:
        """The env a Pachyderm worker of pipeline `train` (input `etl`) gets; fresh ids for
        the job and the etl commit unless given."""
        job = job or self.new_id()
        return {
            "PACH_JOB_ID": job,
            "PACH_OUTPUT_COMMIT_ID": job,
            "PACH_DATUM_ID": datum,
            "PPS_PIPELINE_NAME": "train",
            "PPS_PROJECT_NAME": "default",
            "PPS_SPEC_COMMIT": "5" * 32,
            "etl": "/pfs/etl",
            "etl_COMMIT": etl_commit or self.new_id(),
        }

    @staticmethod
    def run(
        input_dir: Path,
        output_dir: Path,
        tracking_uri: str,
        env: dict[str, str] | None = None,
        *extra: str,
    ) -> Invocation:
        """The CLI on `input_dir` -> `output_dir`, MLflow retries kept short."""
        from pachflow_train.cli import main

        full_env = {
            "MLFLOW_TRACKING_URI": tracking_uri,
            "PACHFLOW_MLFLOW_RETRIES": "1",
            "PACHFLOW_MLFLOW_BACKOFF": "0",
            "PACHFLOW_MLFLOW_TIMEOUT": "30",
            **(env or {}),
        }
        args = ["--max-depth", "4", *extra, str(input_dir), str(output_dir)]
        result = CliRunner().invoke(main, args, env=full_env, catch_exceptions=True)
        return Invocation(result, output_dir, full_env)


# importlib import mode: test modules cannot import conftest, so helpers are fixtures.
@pytest.fixture(scope="session")
def train() -> TrainWorker:
    return TrainWorker()
