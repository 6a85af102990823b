"""train's object-store INPUT_DIR (the S3-gateway variant, pipelines/cluster/train.json:
`s3a://etl` at the sidecar's S3_ENDPOINT), read through pyarrow's S3 client from a real S3
server (s3rver on loopback) holding etl's partials: the listing, the contract check (a bad
file: one exit-2 line naming its URL), the merge plan and the model's input example equal
the local directory's, and the MLflow dataset input says where the data was read. Spark's
own s3a:// read needs Hadoop's S3A connector (hadoop-aws) on its classpath: that test runs
where it is and skips here naming it; a Connect server without it is one exit-2 line."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pachflow_contracts.run_tags import DATASET_TAG_READ_FROM
from pachflow_contracts.worker_context import PachydermContext
from pachflow_features import plan_merge
from pachflow_spark.object_store import (
    S3A_CLASS,
    classic_session_has_s3a,
    hadoop_aws_package,
)
from pachflow_testing.features import features_table, partials_table, write_features
from pachflow_testing.s3 import S3Store, run_s3rver, s3rver_or_skip
from pachflow_testing.worker_env import ETL_COMMIT, worker_env
from pachflow_train import data
from pachflow_train.cli import main

N_ROWS = 400
TRAIN = str(Path(sys.executable).parent / "pachflow-train")


@pytest.fixture(scope="module")
def etl_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """etl's output as the contract writes it: two shards, a delta file in shard=00, and
    what a reader must skip (a hidden folder, a file that is not Parquet)."""
    root = tmp_path_factory.mktemp("s3-input") / "etl"
    write_features(root, N_ROWS, fraud_rate=0.05, n_files=2)
    delta = partials_table(features_table(20, seed=9, fraud_rate=0.1))
    pq.write_table(delta, root / "shard=00" / "part-1.parquet")
    (root / ".staging").mkdir()
    (root / ".staging" / "half-written.parquet").write_bytes(b"not parquet")
    (root / "README.txt").write_text("not an input\n")
    return root


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Store]:
    """One s3rver for the module (a start is ~0.5 s); each test gets the bucket afresh."""
    s3rver_or_skip()
    with run_s3rver(tmp_path_factory.mktemp("s3-server") / "s3", bucket="etl") as store:
        yield store


@pytest.fixture
def bucket(
    s3_server: S3Store, etl_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[S3Store]:
    """Bucket `etl` holding etl_tree and nothing else (what an earlier test uploaded is
    gone), and the env a worker's S3 gateway sidecar gives."""
    s3_server.empty()
    s3_server.upload_tree(etl_tree)
    for key, value in s3_server.worker_env().items():
        monkeypatch.setenv(key, value)
    yield s3_server


def _relative(files: list, prefix: str) -> list[str]:
    return [str(f).removeprefix(prefix) for f in files]


@pytest.mark.parametrize("url", ["s3a://etl", "s3://etl/"])
def test_the_bucket_is_listed_checked_and_read_like_the_directory(
    bucket: S3Store, etl_tree: Path, url: str
):
    local = data.feature_files(etl_tree)
    remote = data.feature_files(url)
    assert remote == [f"s3a://etl/{p.relative_to(etl_tree).as_posix()}" for p in local]
    assert len(remote) == 3  # the hidden folder and README.txt skipped, as locally
    local_plan, remote_plan = plan_merge(local), plan_merge(remote)
    assert _relative(remote_plan.base, "s3a://etl/") == _relative(local_plan.base, f"{etl_tree}/")
    assert _relative(remote_plan.deltas, "s3a://etl/") == ["shard=00/part-1.parquet"]
    assert (remote_plan.base_rows, remote_plan.delta_rows) == (
        local_plan.base_rows,
        local_plan.delta_rows,
    )
    pd.testing.assert_frame_equal(data.example_rows(remote), data.example_rows(local))


def _bad(kind: str) -> bytes:
    table = partials_table(features_table(40))
    if kind == "negative":
        amounts = table.column("amount_max").to_pylist()
        amounts[3] = -1.0
        index = table.schema.get_field_index("amount_max")
        table = table.set_column(index, "amount_max", pa.array(amounts))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    body = sink.getvalue().to_pybytes()
    return body if kind == "negative" else body[: len(body) // 2]


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("negative", "column 'amount_max': 1 negative value(s)"),
        ("truncated", "not a readable Parquet file"),
    ],
)
def test_a_bad_file_in_the_bucket_exits_2_naming_its_url(
    bucket: S3Store, tmp_path: Path, dead_tracking_uri: str, kind: str, says: str
):
    """With Spark and MLflow unreachable (a closed port for both): one error line naming
    the object (values are checked as the Arrow engine reads them)."""
    source = tmp_path / "bad"
    (source / "shard=01").mkdir(parents=True)
    (source / "shard=01" / "part-9.parquet").write_bytes(_bad(kind))
    bucket.upload_tree(source)
    out = tmp_path / "out"
    args = ["s3a://etl", str(out), "--tracking-uri", dead_tracking_uri]
    result = CliRunner().invoke(main, [*args, "--master", "sc://127.0.0.1:1"])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("Error:")]
    assert errors == lines[-1:], result.output  # one error line, the last
    assert "s3a://etl/shard=01/part-9.parquet: " in errors[0] and says in errors[0], errors
    assert not out.exists()


@pytest.mark.parametrize("problem", ["wrong-key", "no-bucket", "no-parquet"])
def test_an_unreadable_bucket_exits_2_naming_the_endpoint(
    bucket: S3Store,
    tmp_path: Path,
    dead_tracking_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    problem: str,
):
    url = {"no-bucket": "s3a://nope", "no-parquet": "s3a://etl/shard=07"}.get(problem, "s3a://etl")
    if problem == "wrong-key":  # as pachd's gateway with auth on refuses a wrong token
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "not-the-token")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-token")
    args = [url, str(tmp_path / "out"), "--tracking-uri", dead_tracking_uri]
    result = CliRunner().invoke(main, [*args, "--master", "sc://127.0.0.1:1"])
    assert result.exit_code == 2, result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.strip()]
    assert f"{bucket.endpoint} (S3_ENDPOINT)" in line, line
    assert url in line, line
    assert "not-the-token" not in line


def test_the_dataset_input_says_where_the_data_was_read(bucket: S3Store, etl_tree: Path):
    """Inside a worker the source stays the commit (pfs://, what lineage follows) and a
    tag names the gateway's bucket; a local run's source is the bucket itself (MLflow's
    s3 source) with a digest of its listing that changes when an object does."""
    from pachflow_train.datasets import dataset_inputs

    files = data.feature_files("s3a://etl")
    read_from = data.object_store_inputs("s3a://etl")
    assert read_from == {"etl": "s3a://etl"}

    worker = PachydermContext.from_env(worker_env(etl="/pfs/etl"), default_pipeline="train")
    (ds,) = dataset_inputs(worker, read_from=read_from)
    assert (ds.dataset.name, ds.dataset.digest) == (f"etl@{ETL_COMMIT}", ETL_COMMIT)
    assert json.loads(ds.dataset.source)["uri"] == f"pfs://fraud/etl@{ETL_COMMIT}/"
    assert {t.key: t.value for t in ds.tags}[DATASET_TAG_READ_FROM] == "s3a://etl"

    local = data.job_context("train", "s3a://etl", files)
    (ds,) = dataset_inputs(local, read_from=read_from)
    assert ds.dataset.source_type == "s3"
    assert json.loads(ds.dataset.source)["uri"] == "s3://etl"
    assert ds.dataset.digest == data.job_context("train", "s3a://etl", files).inputs[0].commit
    changed = etl_tree.parent / "changed"
    write_features(changed, N_ROWS + 1, n_files=2)
    bucket.upload_tree(changed)
    assert data.job_context("train", "s3a://etl", files).inputs[0].commit != ds.dataset.digest


@pytest.mark.parametrize("url", ["s3a://etl", "s3://etl/"])
def test_spark_engine_on_a_spark_without_s3a_exits_2_naming_the_jar(
    bucket: S3Store, tmp_path: Path, dead_tracking_uri: str, url: str
):
    """When Spark would read the objects (--arrow-max-bytes 0, or partials too large for
    the Arrow engine), a classic session from pyspark's jars (no hadoop-aws) cannot: train
    says so after the listing, before Spark or MLflow, and how to add the jar."""
    out = tmp_path / "out"
    args = [url, str(out), "--tracking-uri", dead_tracking_uri, "--master", "local[2]"]
    result = CliRunner().invoke(main, [*args, "--arrow-max-bytes", "0"])
    assert result.exit_code == 2, result.output
    line = [ln for ln in result.output.splitlines() if ln.strip()][-1]
    assert (
        f"INPUT_DIR {url.rstrip('/')}: this Spark (local[2], pyspark's jars) cannot read s3a://"
        in line
    )
    assert f"hadoop-aws jar ({hadoop_aws_package()}, pyspark's Hadoop) is missing" in line
    assert f"--spark-conf spark.jars.packages={hadoop_aws_package()}" in line, line
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.spark
def test_the_arrow_engine_trains_on_the_bucket_without_hadoop_aws(
    bucket: S3Store, etl_tree: Path, tmp_path: Path, mlflow_tracking_uri: str, train
):
    """Partials that fit the Arrow engine are read with pyarrow's S3 client, so the S3
    variant trains on a Spark without hadoop-aws, and gives the model metrics of the same
    files read from the directory."""
    runs = {}
    for name, source in (("s3", "s3a://etl"), ("local", str(etl_tree))):
        done = train.run(source, tmp_path / name, mlflow_tracking_uri, train.env())
        assert done.exit_code == 0, done.result.output
        assert "data in Arrow: partials" in done.result.output
        runs[name] = json.loads((tmp_path / name / "run.json").read_text())
    s3, local = runs["s3"]["metrics"], runs["local"]["metrics"]
    timings = {"fit_seconds", "evaluate_seconds"}
    assert {k: v for k, v in s3.items() if k not in timings} == {
        k: v for k, v in local.items() if k not in timings
    }


@pytest.mark.spark
def test_a_connect_server_without_s3a_exits_2_naming_it(
    bucket: S3Store, warm_spark_engine, tmp_path: Path, mlflow_tracking_uri: str
):
    """On the Spark engine the server reads s3a:// with its own classpath: one from
    pyspark's jars (the session's warm engine) has no hadoop-aws, and train says so (after
    pyarrow read the bucket, before any MLflow run). A separate process: its Connect
    session ends with it."""
    out = tmp_path / "out"
    url = warm_spark_engine.url
    args = ["s3a://etl", str(out), "--tracking-uri", mlflow_tracking_uri, "--master", url]
    done = subprocess.run(
        [TRAIN, *args, "--arrow-max-bytes", "0"],
        capture_output=True,
        text=True,
        env={**os.environ, **bucket.worker_env()},
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert f"the Spark at {url} cannot read s3a://" in line, line
    assert f"({S3A_CLASS} not found)" in line and "hadoop-aws" in line, line
    assert "3 features file(s) under s3a://etl match the contract" in done.stderr
    assert not out.exists() or not any(out.iterdir())


def _spark_conf_from_env() -> tuple[tuple[str, str], ...]:
    """PACHFLOW_SPARK_CONF (what train reads too): `key=value` items."""
    items = shlex.split(os.environ.get("PACHFLOW_SPARK_CONF", ""))
    return tuple(tuple(item.split("=", 1)) for item in items if "=" in item)  # type: ignore[misc]


S3A_REASON = (
    f"Spark's s3a:// read needs Hadoop's S3A connector: class {S3A_CLASS} (jar "
    f"{hadoop_aws_package()}, pyspark's Hadoop, with its AWS SDK bundle) is not on this "
    f"classic session's classpath: run with PACHFLOW_SPARK_CONF='spark.jars.packages="
    f"{hadoop_aws_package()}' (downloads from Maven Central, unreachable here) or put the "
    "hadoop-aws and bundle jars into pyspark/jars"
)


@pytest.mark.spark
@pytest.mark.skipif(not classic_session_has_s3a(_spark_conf_from_env()), reason=S3A_REASON)
def test_train_on_the_bucket_through_s3a_equals_the_directory(
    bucket: S3Store, etl_tree: Path, tmp_path: Path, mlflow_tracking_uri: str
):
    """Where hadoop-aws is on the classpath: a whole train run on s3a://etl (Spark reads
    the objects at S3_ENDPOINT) gives the model metrics of the same files read locally.
    Separate processes: each gets a classic session with PACHFLOW_SPARK_CONF's jars."""
    runs = {}
    for name, source in (("s3", "s3a://etl"), ("local", str(etl_tree))):
        out = tmp_path / name
        args = [source, str(out), "--tracking-uri", mlflow_tracking_uri, "--partitions", "2"]
        done = subprocess.run(
            [TRAIN, *args, "--master", "local[2]"],
            capture_output=True,
            text=True,
            env={**os.environ, **bucket.worker_env()},
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        runs[name] = json.loads((out / "run.json").read_text())

    def model_metrics(run: dict) -> dict[str, float]:
        return {k: v for k, v in run["metrics"].items() if not k.endswith("_seconds")}

    assert model_metrics(runs["s3"]) == pytest.approx(model_metrics(runs["local"]))
