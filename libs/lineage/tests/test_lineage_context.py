"""Pachyderm worker env -> PachydermContext -> MLflow tags and dataset inputs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from mlflow.data.dataset_source_registry import get_dataset_source_from_json
from mlflow.tracking import MlflowClient

from pachflow_lineage.context import (
    TAG_DATUM_ID,
    TAG_INPUTS,
    TAG_JOB_ID,
    TAG_OUTPUT_COMMIT,
    PachydermContext,
    fingerprint_dir,
    input_tags,
    parse_input_repos,
)
from pachflow_lineage.datasets import dataset_inputs
from pachflow_lineage.pfs_source import PfsDatasetSource

JOB = "a" * 32
ETL_COMMIT = "b" * 32
SPEC_COMMIT = "c" * 32


def worker_env(**extra: str) -> dict[str, str]:
    """What a Pachyderm 2.x worker sets for a pipeline `train` with one pfs input `etl`."""
    return {
        "PACH_JOB_ID": JOB,
        "PACH_OUTPUT_COMMIT_ID": JOB,
        "PACH_DATUM_ID": "d" * 64,
        "PPS_PIPELINE_NAME": "train",
        "PPS_PROJECT_NAME": "fraud",
        "PPS_SPEC_COMMIT": SPEC_COMMIT,
        "etl": "/pfs/etl",
        "etl_COMMIT": ETL_COMMIT,
        "PATH": "/usr/bin",
        **extra,
    }


def test_worker_env_is_read_into_context() -> None:
    ctx = PachydermContext.from_env(worker_env(), default_pipeline="ignored")
    assert not ctx.local
    assert (ctx.job_id, ctx.pipeline, ctx.project) == (JOB, "train", "fraud")
    assert (ctx.output_commit, ctx.spec_commit, ctx.datum_id) == (JOB, SPEC_COMMIT, "d" * 64)
    # PPS_SPEC_COMMIT is not an input even though it ends with _COMMIT.
    assert [(i.name, i.repo, i.commit) for i in ctx.inputs] == [("etl", "etl", ETL_COMMIT)]
    assert ctx.run_name == f"train@{JOB}"


def test_tags_name_job_datum_and_every_input() -> None:
    env = worker_env(features="/pfs/features/x", features_COMMIT="e" * 32)
    tags = PachydermContext.from_env(env, default_pipeline="train").tags()
    assert tags == {
        "pachyderm.context": "pachyderm",
        "pachyderm.job_id": JOB,
        "pachyderm.pipeline": "train",
        "pachyderm.project": "fraud",
        "pachyderm.datum_id": "d" * 64,
        "pachyderm.output_commit": JOB,
        "pachyderm.spec_commit": SPEC_COMMIT,
        "pachyderm.inputs": f"etl@{ETL_COMMIT},features@{'e' * 32}",
        "pachyderm.input.etl.repo": "etl",
        "pachyderm.input.etl.commit": ETL_COMMIT,
        "pachyderm.input.features.repo": "features",
        "pachyderm.input.features.commit": "e" * 32,
    }


def test_input_tags_reads_back_what_tags_wrote() -> None:
    env = worker_env(
        features="/pfs/features", features_COMMIT="e" * 32, PACHFLOW_INPUT_REPOS="etl=etl_v2"
    )
    tags = PachydermContext.from_env(env, default_pipeline="train").tags()
    assert input_tags(tags) == [("etl", "etl_v2", ETL_COMMIT), ("features", "features", "e" * 32)]


def test_input_repo_comes_from_mapping_env_then_argument() -> None:
    env = worker_env(PACHFLOW_INPUT_REPOS="etl=features_v2")
    ctx = PachydermContext.from_env(env, default_pipeline="train")
    assert ctx.inputs[0].repo == "features_v2"
    ctx = PachydermContext.from_env(env, default_pipeline="train", input_repos={"etl": "other"})
    assert ctx.inputs[0].repo == "other"


def test_parse_input_repos_rejects_malformed_items() -> None:
    assert parse_input_repos(" a=r1, b=r2 ") == {"a": "r1", "b": "r2"}
    with pytest.raises(ValueError, match="expected name=repo"):
        parse_input_repos("a=r1,broken")


def test_local_fallback_has_unique_job_and_stable_fingerprint(tmp_path: Path) -> None:
    data = tmp_path / "etl"
    data.mkdir()
    (data / "part-0.parquet").write_bytes(b"x" * 10)
    env = {"PATH": "/usr/bin"}
    one = PachydermContext.from_env(env, default_pipeline="train", local_inputs={"etl": data})
    two = PachydermContext.from_env(env, default_pipeline="train", local_inputs={"etl": data})
    assert one.local and one.tags()["pachyderm.context"] == "local"
    assert one.job_id.startswith("local-") and one.job_id != two.job_id
    assert one.datum_id == "local" and one.pipeline == "train"
    assert one.inputs[0].commit == two.inputs[0].commit and len(one.inputs[0].commit) == 32
    (data / "part-1.parquet").write_bytes(b"y")
    assert fingerprint_dir(data) != one.inputs[0].commit


def test_run_filter_quotes_values() -> None:
    ctx = PachydermContext.from_env(worker_env(PACH_JOB_ID="it's"), default_pipeline="t")
    assert ctx.run_filter() == (
        f"tags.`{TAG_JOB_ID}` = 'it\\'s' AND tags.`{TAG_DATUM_ID}` = '{'d' * 64}'"
    )


def test_pfs_source_round_trips_through_mlflow_registry() -> None:
    src = PfsDatasetSource("fraud", "etl", ETL_COMMIT, "/shard=01/")
    assert src.uri == f"pfs://fraud/etl@{ETL_COMMIT}/shard=01"
    back = get_dataset_source_from_json(src.to_json(), source_type="pfs")
    assert isinstance(back, PfsDatasetSource) and back.to_dict() == src.to_dict()
    with pytest.raises(ValueError, match="expected pfs://"):
        PfsDatasetSource.from_uri("pfs://fraud/etl")


def test_dataset_inputs_name_digest_and_source() -> None:
    env = worker_env(etl="/pfs/etl/shard=03")
    (ds,) = dataset_inputs(PachydermContext.from_env(env, default_pipeline="train"))
    assert (ds.dataset.name, ds.dataset.digest) == (f"etl@{ETL_COMMIT}", ETL_COMMIT)
    assert ds.dataset.source_type == "pfs"
    assert json.loads(ds.dataset.source)["uri"] == f"pfs://fraud/etl@{ETL_COMMIT}/shard=03"
    assert {t.key: t.value for t in ds.tags}["mlflow.data.context"] == "training"


def test_tags_and_datasets_stored_by_real_server_and_searchable(mlflow_tracking_uri: str) -> None:
    ctx = PachydermContext.from_env(worker_env(), default_pipeline="train")
    client = MlflowClient(tracking_uri=mlflow_tracking_uri)
    exp = client.create_experiment(f"provenance-context-{os.getpid()}")
    run = client.create_run(exp, tags=ctx.tags(), run_name=ctx.run_name)
    client.log_inputs(run.info.run_id, datasets=dataset_inputs(ctx))
    (found,) = client.search_runs([exp], filter_string=ctx.run_filter())
    assert found.info.run_id == run.info.run_id
    assert found.data.tags[TAG_OUTPUT_COMMIT] == JOB
    assert found.data.tags[TAG_INPUTS] == f"etl@{ETL_COMMIT}"
    (stored,) = found.inputs.dataset_inputs
    assert (stored.dataset.name, stored.dataset.digest) == (f"etl@{ETL_COMMIT}", ETL_COMMIT)
    source = get_dataset_source_from_json(stored.dataset.source, stored.dataset.source_type)
    assert source.uri == f"pfs://fraud/etl@{ETL_COMMIT}/"
