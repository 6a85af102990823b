"""Where an object-store input is read from, as pyarrow and Spark's S3A get it: the
endpoint of Pachyderm's S3 gateway sidecar (S3_ENDPOINT) before AWS's own variables,
path-style addressing, no SSL for an http:// endpoint, the keys and their provider. (The
reads themselves: stages/train/tests/test_train_s3_input.py, against a real S3 server.)"""

from __future__ import annotations

import pytest

from pachflow_spark.object_store import S3Access, bucket_and_key, object_store_url, read_options

SIDECAR = {
    "S3_ENDPOINT": "http://pipeline-train-v1.default:1600",
    "AWS_ENDPOINT_URL": "https://elsewhere.example",
    "AWS_ACCESS_KEY_ID": "token",
    "AWS_SECRET_ACCESS_KEY": "token",
}


def test_the_sidecars_endpoint_wins_and_reaches_s3a_without_ssl():
    access = S3Access.from_env(SIDECAR)
    assert access.describe() == "http://pipeline-train-v1.default:1600 (S3_ENDPOINT)"
    assert access.s3a_options() == {
        "fs.s3a.endpoint": "http://pipeline-train-v1.default:1600",
        "fs.s3a.connection.ssl.enabled": "false",
        "fs.s3a.path.style.access": "true",
        "fs.s3a.endpoint.region": "us-east-1",
        "fs.s3a.impl.disable.cache": "true",
        "fs.s3a.access.key": "token",
        "fs.s3a.secret.key": "token",
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
    }


def test_aws_variables_apply_outside_a_worker():
    env = {
        "AWS_ENDPOINT_URL_S3": "https://s3.internal:9000/",
        "AWS_ACCESS_KEY_ID": "AKIA",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_SESSION_TOKEN": "t",
        "AWS_REGION": "eu-west-1",
    }
    options = S3Access.from_env(env).s3a_options()
    assert options["fs.s3a.endpoint"] == "https://s3.internal:9000"
    assert options["fs.s3a.connection.ssl.enabled"] == "true"
    assert options["fs.s3a.endpoint.region"] == "eu-west-1"
    assert options["fs.s3a.session.token"] == "t"
    assert options["fs.s3a.aws.credentials.provider"].endswith("TemporaryAWSCredentialsProvider")
    bare = S3Access.from_env({})
    assert bare.endpoint is None and "AWS S3 in us-east-1" in bare.describe()
    assert {"fs.s3a.endpoint", "fs.s3a.access.key"}.isdisjoint(bare.s3a_options())


def test_a_prefixed_store_overrides_the_sidecar_variable_by_variable():
    """Another store than the S3 gateway's (train's model staging): `<prefix>NAME` wins
    over NAME where set; what is not set falls back."""
    env = {
        **SIDECAR,
        "MODEL_S3_ENDPOINT": "http://minio.mlflow:9000",
        "MODEL_AWS_ACCESS_KEY_ID": "minio",
        "MODEL_AWS_SECRET_ACCESS_KEY": "",  # empty: not set
    }
    access = S3Access.from_env(env, prefix="MODEL_")
    assert access.describe() == "http://minio.mlflow:9000 (MODEL_S3_ENDPOINT)"
    assert (access.access_key, access.secret_key) == ("minio", "token")
    assert S3Access.from_env(env) == S3Access.from_env(SIDECAR)


@pytest.mark.parametrize(
    ("given", "url", "path"),
    [
        ("s3a://etl", "s3a://etl", "etl"),
        ("s3:/etl/shard=00/", "s3://etl/shard=00/", "etl/shard=00"),
    ],
)
def test_urls_and_paths(given: str, url: str, path: str):
    assert object_store_url(given) == url  # click's Path turns s3://etl into s3:/etl
    assert bucket_and_key(url) == path


def test_spark_gets_s3a_options_only_for_object_store_files(monkeypatch: pytest.MonkeyPatch):
    for key, value in SIDECAR.items():
        monkeypatch.setenv(key, value)
    assert read_options(["/pfs/etl/shard=00/part-0.parquet"]) == {}
    assert read_options(["s3a://etl/shard=00/part-0.parquet"])["fs.s3a.path.style.access"] == "true"
