"""A job's input commits as MLflow dataset inputs: the `pfs://` source, name and digest,
as a real MLflow server stores them (what lineage reads back)."""

from __future__ import annotations

import json
import os

import pytest
from mlflow.data.dataset_source_registry import get_dataset_source_from_json
from mlflow.tracking import MlflowClient

from pachflow_contracts.run_tags import TAG_INPUTS, TAG_OUTPUT_COMMIT
from pachflow_contracts.worker_context import PachydermContext
from pachflow_testing.worker_env import ETL_COMMIT, JOB, worker_env
from pachflow_train.datasets import dataset_inputs
from pachflow_train.pfs_source import PfsDatasetSource


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
