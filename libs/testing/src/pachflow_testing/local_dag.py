"""The `local_dag` fixture: a small local store DAG (raw_data -> split -> train, spec
repos, jobs) made through pachflow_store's own write API, plus real MLflow runs tagged the
way train tags them: two data versions, so tests can check one never resolves to the other.
Used by the lineage library's tests and the provenance stage's. MLflow and the lineage
context are imported when the fixture is built: every test session loads this plugin."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

import pachflow_store as ps

MODEL = "prov-test-model"


@dataclass
class Version:
    raw: ps.CommitRef
    job_id: str  # == the split and train output commit ids (one commit set)
    run_id: str
    model_version: str


@dataclass
class LocalDag:
    home: Path
    tracking_uri: str
    model: str
    versions: list[Version]
    spec_split: str
    spec_train: str


def put_spec(store: ps.Store, pipeline: str, spec: bytes) -> ps.CommitRef:
    """A commit of `pipeline`'s spec repo holding `spec` as /spec.json."""
    with store.writing_blobs():
        digest = store.blobs.put_bytes(spec)
        with store.transaction() as tx:
            return store.insert_commit(
                tx,
                ps.CommitRef(pipeline, ps.new_id(), repo_type=ps.SPEC),
                {"/spec.json": digest},
                [],
                ps.ORIGIN_USER,
            )


def finished_job(
    store: ps.Store,
    pipeline: str,
    job_id: str,
    spec: str,
    inputs: list[ps.CommitRef],
    outputs: dict[str, bytes],
) -> ps.CommitRef:
    """A successful one-datum job of `pipeline` (spec commit `spec`) over `inputs`, and its
    output commit (id: the job's) holding `outputs` (path -> content)."""
    store.start_job(pipeline, job_id, spec, inputs, total=1)
    with store.writing_blobs():
        manifest = {path: store.blobs.put_bytes(content) for path, content in outputs.items()}
        with store.transaction() as tx:
            out = store.insert_commit(
                tx,
                ps.CommitRef(pipeline, job_id),
                manifest,
                [*inputs, ps.CommitRef(pipeline, spec, repo_type=ps.SPEC)],
                ps.ORIGIN_AUTO,
            )
            store.finish_job(tx, pipeline, job_id, ps.JOB_SUCCESS, "", (1, 0, 0), out.id)
    return out


def _spec(store: ps.Store, pipeline: str) -> str:
    return put_spec(store, pipeline, f'{{"pipeline": {{"name": "{pipeline}"}}}}'.encode()).id


def _version(
    store: ps.Store,
    client: MlflowClient,
    exp_id: str,
    model: str,
    tmp: Path,
    n: int,
    specs: tuple[str, str],
) -> Version:
    raw_file = tmp / f"raw{n}.csv"
    raw_file.write_text(f"step,type\n{n},PAYMENT\n")
    raw = store.put_files("raw_data", [(f"paysim-{n}.csv", raw_file)])
    job_id = ps.new_id()
    split = finished_job(
        store, "split", job_id, specs[0], [raw], {"/out.bin": f"split {n}".encode()}
    )
    finished_job(store, "train", job_id, specs[1], [split], {"/out.bin": f"train {n}".encode()})
    env = {
        "PACH_JOB_ID": job_id,
        "PACH_DATUM_ID": "datum0",
        "PPS_PIPELINE_NAME": "train",
        "PPS_SPEC_COMMIT": specs[1],
        "split": "/pfs/split",
        "split_COMMIT": split.id,
    }
    from pachflow_contracts.worker_context import PachydermContext

    tags = PachydermContext.from_env(env, default_pipeline="train").tags()
    run = client.create_run(exp_id, tags=tags, run_name=f"train@{job_id}")
    client.set_terminated(run.info.run_id)
    mv = client.create_model_version(
        model, f"{run.info.artifact_uri}/model", run_id=run.info.run_id
    )
    return Version(raw=raw, job_id=job_id, run_id=run.info.run_id, model_version=str(mv.version))


@pytest.fixture(scope="session")
def local_dag(tmp_path_factory: pytest.TempPathFactory, mlflow_tracking_uri: str) -> LocalDag:
    """Built once per session (runs and model versions cost seconds each). Tests only add
    to it (an alias, the link stage's tags/metadata on version 1) and assert nothing that
    another test's additions would change."""
    from mlflow.tracking import MlflowClient

    tmp_path = tmp_path_factory.mktemp("local-dag")
    client = MlflowClient(mlflow_tracking_uri)
    suffix = uuid.uuid4().hex[:8]  # the server is shared by the whole session
    exp_id = client.create_experiment(f"prov-local-{suffix}")
    model = f"{MODEL}-{suffix}"
    client.create_registered_model(model)
    home = tmp_path / "home"
    with ps.Store(home) as store:
        specs = (_spec(store, "split"), _spec(store, "train"))
        versions = [_version(store, client, exp_id, model, tmp_path, n, specs) for n in (1, 2)]
    return LocalDag(
        home=home,
        tracking_uri=mlflow_tracking_uri,
        model=model,
        versions=versions,
        spec_split=specs[0],
        spec_train=specs[1],
    )
