"""`pachflow run`'s summary names the alias as the registry has it, read when it prints,
never as run.json remembers it (a reused output's run.json says where the alias was)."""

from __future__ import annotations

import uuid

from mlflow.tracking import MlflowClient

from pachflow.report.results import model_line
from pachflow_contracts.run_manifest import RegisteredVersion, RunManifest


def test_the_summary_says_where_the_registry_has_the_alias(
    mlflow_tracking_uri: str, tmp_path
) -> None:
    client = MlflowClient(mlflow_tracking_uri)
    name = f"summary-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    exp = client.create_experiment(name)
    for _ in range(2):
        run = client.create_run(exp)
        client.create_model_version(name, f"{run.info.artifact_uri}/model", run.info.run_id)
    client.set_registered_model_alias(name, "candidate", "2")

    def line(version: str) -> str:
        recorded = RegisteredVersion(name, version, "candidate")
        return model_line(RunManifest("r" * 32, registered_model=recorded), mlflow_tracking_uri)

    assert line("2") == f"{name} v2, alias candidate  (models:/{name}/2)"
    assert line("1") == (
        f"{name} v1; alias candidate is on v2 in the registry, not on this version  "
        f"(models:/{name}/1)"
    )
    client.delete_registered_model_alias(name, "candidate")
    assert line("2") == (
        f"{name} v2; the registry has no alias candidate on {name}  (models:/{name}/2)"
    )
