"""A stage without a tracking URI stops with one line (exit 2) instead of letting MLflow
create its default store in the working directory; the stages' bare-run tests show the
whole CLI. Here: the line itself, also when the working directory is gone; and MLflow URIs
set inside `mlflow_uris_kept` do not outlive it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pachflow_stagekit import BadInput
from pachflow_stagekit.mlflow_access import required_tracking_uri


def test_a_given_uri_is_used_as_is() -> None:
    assert required_tracking_uri("sqlite:////tmp/x/mlflow.db") == "sqlite:////tmp/x/mlflow.db"


def test_none_names_the_settings_and_the_directory_it_would_have_littered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInput) as caught:
        required_tracking_uri(None, " (and run.json names none)")
    message = caught.value.message
    assert message.startswith("no MLflow tracking URI (and run.json names none)")
    assert "MLFLOW_TRACKING_URI" in message and str(tmp_path) in message


def test_a_removed_working_directory_is_still_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    os.rmdir(gone)
    with pytest.raises(BadInput, match="into the working directory"):
        required_tracking_uri("")


def test_uris_set_inside_mlflow_uris_kept_do_not_outlive_it(monkeypatch, tmp_path) -> None:
    """What `pachflow score` sets to download a model must not steer the process's later
    clients, nor the stages a later `pachflow run` in the same process starts."""
    import mlflow

    from pachflow_stagekit.mlflow_access import mlflow_uris_kept

    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    kept = f"sqlite:///{tmp_path}/kept.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", kept)
    with mlflow_uris_kept():
        mlflow.set_tracking_uri("http://127.0.0.1:9/")
        mlflow.set_registry_uri("http://127.0.0.1:9/")
        assert os.environ["MLFLOW_REGISTRY_URI"] == "http://127.0.0.1:9/"
    assert "MLFLOW_REGISTRY_URI" not in os.environ
    assert os.environ["MLFLOW_TRACKING_URI"] == kept
    assert mlflow.get_tracking_uri() == kept
    assert mlflow.get_registry_uri() == kept  # falls back to the tracking URI again
