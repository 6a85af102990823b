"""Bad arguments and unreachable services: exit 2 with one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pachflow_provenance.cli import main

GOOD_ID = "0123456789abcdef0123456789abcdef"


def run(*args: str, env: dict[str, str | None] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env)


def ask_raw_commit(tracking_uri: str, *args: str, env: dict[str, str | None] | None = None) -> Any:
    """`commit raw_data@GOOD_ID` against one MLflow: the question the store tests ask."""
    return run("commit", f"raw_data@{GOOD_ID}", "--tracking-uri", tracking_uri, *args, env=env)


def one_line(result: Any) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize("arg", ["raw_data@", "raw_data@a b", "bad repo@" + GOOD_ID, "@" + GOOD_ID])
def test_malformed_commit_is_exit_2(arg: str) -> None:
    result = run("commit", arg)
    assert result.exit_code == 2
    assert "expected [project/]REPO@ID, REPO@BRANCH or REPO@PREFIX" in one_line(result)


def test_malformed_model_is_exit_2() -> None:
    result = run("model", "no-version")
    assert result.exit_code == 2
    assert "expected NAME/VERSION" in one_line(result)


def test_unknown_run_is_exit_2(local_dag: Any) -> None:
    result = run(
        "run",
        GOOD_ID,
        "--tracking-uri",
        local_dag.tracking_uri,
        "--backend",
        "local",
        "--home",
        str(local_dag.home),
    )
    assert result.exit_code == 2
    assert f"no MLflow run '{GOOD_ID}'" in one_line(result)


def test_unknown_commit_is_exit_2(local_dag: Any) -> None:
    result = ask_raw_commit(local_dag.tracking_uri, "--home", str(local_dag.home))
    assert result.exit_code == 2
    assert f"no commit raw_data@{GOOD_ID} in the local store" in one_line(result)


def test_missing_local_store_is_exit_2(mlflow_tracking_uri: str, tmp_path: Path) -> None:
    nothing = str(tmp_path / "nothing")
    result = ask_raw_commit(mlflow_tracking_uri, "--backend", "local", "--home", nothing)
    assert result.exit_code == 2
    assert "no local pachflow store at" in one_line(result)
    assert not (tmp_path / "nothing").exists()  # a question never creates a store


def test_unreachable_mlflow_is_exit_2(dead_tracking_uri: str, tmp_path: Path) -> None:
    from pachflow_store import Store

    Store(tmp_path / "home").close()  # a store: the question gets as far as MLflow
    home = str(tmp_path / "home")
    result = run("run", GOOD_ID, "--tracking-uri", dead_tracking_uri, "--home", home)
    assert result.exit_code == 2
    assert f"MLflow at {dead_tracking_uri} is unreachable" in one_line(result)


def test_unreachable_pachd_is_exit_2(mlflow_tracking_uri: str) -> None:
    from pachflow_testing.mlflow_server import free_port

    address = f"grpc://127.0.0.1:{free_port()}"
    result = ask_raw_commit(
        mlflow_tracking_uri,
        "--backend",
        "pachyderm",
        "--pachd-address",
        address,
        env={"PACHFLOW_HOME": None},
    )
    assert result.exit_code == 2
    line = one_line(result)
    assert f"cannot reach pachd at {address} (from --pachd-address): unreachable" in line


def test_png_without_graphviz_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` there
    result = run("commit", f"raw_data@{GOOD_ID}", "--png", str(tmp_path / "g.png"))
    assert result.exit_code == 2
    assert "graphviz" in one_line(result) and "not installed" in one_line(result)
