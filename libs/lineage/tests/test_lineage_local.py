"""Both directions over the local store and a real MLflow server, through the CLI."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from click.testing import CliRunner

from pachflow_lineage import render
from pachflow_lineage.commands import lineage_group


def invoke(dag: Any, *args: str, group: Any = None) -> Any:
    result = CliRunner().invoke(
        group or lineage_group(),
        [*args, "--backend", "local", "--home", str(dag.home), "--tracking-uri", dag.tracking_uri],
    )
    assert result.exit_code == 0, result.output
    return result


def commits(payload: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["repo"], c["id"]) for c in payload["commits"]}


def test_run_resolves_its_own_data_version_down_to_raw_data(local_dag: Any) -> None:
    v1, v2 = local_dag.versions
    payload = json.loads(invoke(local_dag, "run", v1.run_id, "--json").stdout)
    assert commits(payload) == {
        ("raw_data", v1.raw.id),
        ("split", v1.job_id),
        ("train", v1.job_id),
        ("split", local_dag.spec_split),
        ("train", local_dag.spec_train),
    }
    assert ("raw_data", v2.raw.id) not in commits(payload)
    raw = next(c for c in payload["commits"] if c["repo"] == "raw_data")
    assert raw["origin"] == "USER" and [f["path"] for f in raw["files"]] == ["paysim-1.csv"]
    assert raw["files"][0]["size"] == raw["size"] > 0
    assert [m["key"] for m in payload["model_versions"]] == [
        f"model:{local_dag.model}/{v1.model_version}"
    ]
    assert payload["info"]["commit set"] == v1.job_id
    assert {j["key"] for j in payload["jobs"]} == {
        f"job:split@{v1.job_id}",
        f"job:train@{v1.job_id}",
    }
    assert payload["links"][f"mlflow run {v1.run_id}"].endswith(f"/runs/{v1.run_id}")


def test_commit_resolves_downstream_to_its_run_and_model_only(local_dag: Any) -> None:
    v1, v2 = local_dag.versions
    payload = json.loads(invoke(local_dag, "commit", f"raw_data@{v2.raw.id}", "--json").stdout)
    assert [r["run_id"] for r in payload["runs"]] == [v2.run_id]
    assert [m["version"] for m in payload["model_versions"]] == [v2.model_version]
    assert commits(payload) == {("raw_data", v2.raw.id), ("split", v2.job_id), ("train", v2.job_id)}
    edges = {(e["src"], e["dst"], e["kind"]) for e in payload["edges"]}
    assert (f"job:train@{v2.job_id}", f"datum:train@{v2.job_id}/datum0", "datum") in edges
    assert (
        f"run:{v2.run_id}",
        f"model:{local_dag.model}/{v2.model_version}",
        "registered",
    ) in edges
    assert v1.run_id not in json.dumps(payload)


def test_model_version_and_alias_resolve_upstream(local_dag: Any) -> None:
    from mlflow.tracking import MlflowClient

    v1, _ = local_dag.versions
    MlflowClient(local_dag.tracking_uri).set_registered_model_alias(
        local_dag.model, "candidate", v1.model_version
    )
    for version in (v1.model_version, "candidate"):
        payload = json.loads(
            invoke(local_dag, "model", f"{local_dag.model}/{version}", "--json").stdout
        )
        assert payload["subject"] == f"model:{local_dag.model}/{v1.model_version}"
        assert ("raw_data", v1.raw.id) in commits(payload)


def test_commit_upstream_and_model_downstream(local_dag: Any) -> None:
    v1, v2 = local_dag.versions
    up = json.loads(
        invoke(local_dag, "commit", f"train@{v2.job_id}", "--upstream", "--json").stdout
    )
    assert ("raw_data", v2.raw.id) in commits(up) and ("raw_data", v1.raw.id) not in commits(up)
    assert up["runs"] == []
    down = json.loads(
        invoke(
            local_dag, "model", f"{local_dag.model}/{v2.model_version}", "--downstream", "--json"
        ).stdout
    )
    assert down["subject"] == f"model:{local_dag.model}/{v2.model_version}"
    assert commits(down) == {("train", v2.job_id)}
    assert [r["run_id"] for r in down["runs"]] == [v2.run_id]


def test_table_and_mermaid(local_dag: Any) -> None:
    v1, _ = local_dag.versions
    table = invoke(local_dag, "run", v1.run_id).stdout
    # short ids for people (12 hex, like git), the full ones in --json
    assert re.search(rf"^raw_data +{v1.raw.id[:12]} +USER +\d+ B", table, re.M)
    assert re.search(r"^    paysim-1.csv  \d+ B$", table, re.M)
    assert re.search(rf"^train\.spec +{local_dag.spec_train[:12]} ", table, re.M)
    assert v1.raw.id not in table.split("\n", 1)[1]
    mermaid = invoke(local_dag, "commit", f"raw_data@{v1.raw.id}", "--mermaid").stdout
    assert mermaid.startswith("flowchart TD") and f"run {v1.run_id[:12]}" in mermaid


def test_png_writes_only_the_picture_and_prints_its_path(local_dag: Any, tmp_path: Any) -> None:
    if not render.graphviz_available():
        pytest.skip("graphviz `dot` not installed")
    v1, _ = local_dag.versions
    png = tmp_path / "lineage.png"
    out = invoke(local_dag, "run", v1.run_id, "--png", str(png)).stdout
    assert out == f"{png}\n"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_model_version_aliases_are_shown_on_every_path(local_dag: Any) -> None:
    """train sets the alias `candidate` on the version it registers; every lineage printout
    that lists that version shows it (MLflow's version search returns no aliases)."""
    from mlflow.tracking import MlflowClient

    v1, _ = local_dag.versions
    MlflowClient(local_dag.tracking_uri).set_registered_model_alias(
        local_dag.model, "candidate", v1.model_version
    )
    row = rf"^{re.escape(local_dag.model)} +{v1.model_version} +candidate +{v1.run_id[:12]}$"
    for args in (
        ("run", v1.run_id),
        ("commit", f"raw_data@{v1.raw.id}"),
        ("model", f"{local_dag.model}/{v1.model_version}"),
    ):
        assert re.search(row, invoke(local_dag, *args).stdout, re.M), args
        payload = json.loads(invoke(local_dag, *args, "--json").stdout)
        [mv] = payload["model_versions"]
        assert mv["aliases"] == ["candidate"], args
