"""Pachyderm worker env -> PachydermContext -> the `pachyderm.*` MLflow tags, and back."""

from __future__ import annotations

from pathlib import Path

import pytest

from pachflow_contracts.run_tags import TAG_DATUM_ID, TAG_JOB_ID, input_tags, run_context
from pachflow_contracts.worker_context import (
    PachydermContext,
    fingerprint_dir,
    parse_input_repos,
)
from pachflow_testing.worker_env import ETL_COMMIT, JOB, SPEC_COMMIT, worker_env


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


def test_run_context_reads_back_the_job_that_made_a_run() -> None:
    tags = PachydermContext.from_env(worker_env(), default_pipeline="train").tags()
    back = run_context(tags)
    assert (back.pipeline, back.project, back.job_id) == ("train", "fraud", JOB)
    assert back.output_commit is not None and back.output_commit.label == f"fraud/train@{JOB}"
    assert [i.label for i in back.inputs] == [f"fraud/etl@{ETL_COMMIT}"]
