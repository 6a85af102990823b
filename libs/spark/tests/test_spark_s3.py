"""The cluster path's data access: an S3-enabled Pachyderm pipeline's gateway (S3_ENDPOINT)
becomes the fs.s3a settings of every Spark session, and s3:// locations map to what Spark
and pyarrow call them. (Reading through the gateway needs a Pachyderm worker and
hadoop-aws on the Spark side: tests/integration, on a cluster.)"""

from __future__ import annotations

import pytest

from pachflow_spark.s3 import S3Path, S3PathError, gateway_filesystem, is_s3, spark_s3_settings
from pachflow_spark.session import _sql_conf


def test_no_gateway_no_s3_settings(monkeypatch):
    monkeypatch.delenv("S3_ENDPOINT", raising=False)
    assert spark_s3_settings() == ()
    assert not any(k.startswith("fs.s3a") for k, _ in _sql_conf(2, None))


def test_the_gateway_becomes_path_style_anonymous_s3a_settings(monkeypatch):
    monkeypatch.setenv("S3_ENDPOINT", "http://etl-v1-user.pachyderm.svc.cluster.local:600/")
    monkeypatch.delenv("PACH_TOKEN", raising=False)
    got = dict(_sql_conf(2, None))  # what every session (classic or Connect) is sent
    assert got["fs.s3a.endpoint"] == "http://etl-v1-user.pachyderm.svc.cluster.local:600"
    assert got["fs.s3a.path.style.access"] == "true"
    assert got["fs.s3a.connection.ssl.enabled"] == "false"
    assert got["fs.s3a.aws.credentials.provider"].endswith("AnonymousAWSCredentialsProvider")


def test_with_pachyderm_auth_the_token_is_both_keys():
    got = dict(spark_s3_settings({"S3_ENDPOINT": "https://gw:600", "PACH_TOKEN": "tok"}))
    assert (got["fs.s3a.access.key"], got["fs.s3a.secret.key"]) == ("tok", "tok")
    assert got["fs.s3a.connection.ssl.enabled"] == "true"
    assert "fs.s3a.aws.credentials.provider" not in got


@pytest.mark.parametrize(
    ("url", "bucket", "key", "spark"),
    [
        ("s3://split", "split", "", "s3a://split"),
        ("s3://split/", "split", "", "s3a://split"),
        (
            "s3://out/shard=01/x.parquet",
            "out",
            "shard=01/x.parquet",
            "s3a://out/shard=01/x.parquet",
        ),
        ("s3a://etl/a", "etl", "a", "s3a://etl/a"),
    ],
)
def test_locations(url, bucket, key, spark):
    path = S3Path.parse(url)
    assert (path.bucket, path.key, path.spark) == (bucket, key, spark)
    assert is_s3(url) and not is_s3("/pfs/split")


def test_a_bad_location_or_a_missing_gateway_says_what_is_expected():
    with pytest.raises(S3PathError, match="expected s3://BUCKET"):
        S3Path.parse("s3://Bad_Bucket")
    with pytest.raises(S3PathError, match="needs S3_ENDPOINT"):
        gateway_filesystem({})
