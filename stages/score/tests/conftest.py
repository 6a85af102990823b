"""Score's fixtures: PaySim files, one SparkSession, and a model registered in a real MLflow
server (the pachflow_testing plugin's), fitted on the same features scoring computes.

The model here is fitted by the test itself (pachflow_testing.scoring_model: a depth-4 tree
behind the VectorAssembler, as train composes it, logged with mlflow.spark and registered
with the metric train records): score's own tests do not run the train stage.
tests/integration/test_score_local.py scores what the real train stage registered.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pachflow_paysim import write_paysim
from pachflow_spark import SparkSettings, build_session
from pachflow_testing.scoring_model import Registered, register_tree_model

ROWS = 4000
CUSTOMERS = 1500


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    yield build_session("pachflow-score-tests", SparkSettings("local[2]", "2g", 2))


@pytest.fixture(scope="session")
def paysim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An input repo with two PaySim files: one plain, one gzipped."""
    root = tmp_path_factory.mktemp("transactions") / "transactions"
    root.mkdir()
    write_paysim(root / "day-1.csv", ROWS, seed=3, customers=CUSTOMERS)
    write_paysim(root / "day-2.csv.gz", ROWS // 2, seed=4, customers=CUSTOMERS)
    return root


@pytest.fixture(scope="session")
def registered(spark: Any, paysim_dir: Path, mlflow_tracking_uri: str) -> Registered:
    """A model fitted on day-1's features, registered with alias `candidate`."""
    name = f"score-tests-{uuid.uuid4().hex[:8]}"
    return register_tree_model(spark, paysim_dir / "day-1.csv", mlflow_tracking_uri, name)


@dataclass
class Invocation:
    result: Result
    output_dir: Path

    @property
    def exit_code(self) -> int:
        return self.result.exit_code


# importlib import mode: test modules cannot import conftest, so helpers are fixtures.
@pytest.fixture(scope="session")
def run_score(mlflow_tracking_uri: str) -> Any:
    """(input_dir, output_dir, model, env=None) -> Invocation: the CLI in-process against
    the test MLflow server (the session's SparkSession is reused by getOrCreate)."""
    from pachflow_score.cli import main

    def run(
        input_dir: Path, output_dir: Path, model: str, env: dict[str, str] | None = None
    ) -> Invocation:
        args = ["--model", model, str(input_dir), str(output_dir)]
        result = CliRunner().invoke(
            main, args, env={"MLFLOW_TRACKING_URI": mlflow_tracking_uri, **(env or {})}
        )
        return Invocation(result, output_dir)

    return run
