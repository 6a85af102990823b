"""The services behind the production-like MLflow server: a throwaway PostgreSQL cluster
and s3rver, both real servers on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pachflow_testing.loopback import port_open
from pachflow_testing.postgres import PostgresMissing, postgres_bin_dir, run_postgres
from pachflow_testing.s3 import ACCESS_KEY, SECRET_KEY, S3Missing, run_s3rver, s3rver_executable
from pachflow_testing.services import installed_or_skip


def test_postgres_cluster_needs_its_password_survives_a_restart_and_leaves_nothing() -> None:
    import psycopg

    installed_or_skip(postgres_bin_dir, PostgresMissing)
    with run_postgres(databases=("app",)) as cluster:
        uri = cluster.uri("app")
        with psycopg.connect(uri) as conn:
            conn.execute("create table t (x int)")
            conn.execute("insert into t values (1)")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(uri.replace(cluster.password, "wrong-password"))
        cluster.stop()
        assert not port_open(cluster.port)
        cluster.start()
        with psycopg.connect(uri) as conn:
            assert conn.execute("select x from t").fetchall() == [(1,)]
    assert not port_open(cluster.port)
    assert not cluster.root.exists()


def test_s3rver_checks_keys_and_lists_nested_prefixes(tmp_path: Path) -> None:
    """A Spark model is all subdirectories (model/sparkml/metadata/...): MLflow finds it only
    if the listing reports `model/sparkml/` as a common prefix (the patched s3rver does)."""
    import boto3
    from botocore.exceptions import ClientError

    installed_or_skip(s3rver_executable, S3Missing)
    with run_s3rver(tmp_path / "s3") as store:

        def client(key: str, secret: str) -> Any:
            return boto3.client(
                "s3",
                endpoint_url=store.endpoint,
                aws_access_key_id=key,
                aws_secret_access_key=secret,
                region_name="us-east-1",
            )

        s3 = client(ACCESS_KEY, SECRET_KEY)
        for key in ("m/MLmodel", "m/sparkml/metadata/part-0", "m/sparkml/stages/0/metadata/p"):
            s3.put_object(Bucket=store.bucket, Key=key, Body=b"x")
        top = s3.list_objects_v2(Bucket=store.bucket, Prefix="m/", Delimiter="/")
        assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["m/sparkml/"]
        nested = s3.list_objects_v2(Bucket=store.bucket, Prefix="m/sparkml/", Delimiter="/")
        assert [p["Prefix"] for p in nested["CommonPrefixes"]] == [
            "m/sparkml/metadata/",
            "m/sparkml/stages/",
        ]
        with pytest.raises(ClientError, match="InvalidAccessKeyId"):
            client("WRONG", "WRONG").list_objects_v2(Bucket=store.bucket)
    assert not port_open(int(store.endpoint.rsplit(":", 1)[1]))
