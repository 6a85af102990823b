"""One Spark endpoint setting (--master / PACHFLOW_SPARK_MASTER): local, a cluster master
or a Spark Connect server; a malformed or silent endpoint exits 2 naming it, in bounded
time, before any JVM starts."""

from __future__ import annotations

import time

import click
import pytest
from click.testing import CliRunner

from pachflow_spark import SparkSettings, open_session, parse_endpoint, spark_options
from pachflow_spark.endpoint import public_url, resolve_master
from pachflow_spark.servers import free_port


@click.command()
@spark_options
def stage(spark_settings: SparkSettings) -> None:
    click.echo(f"{spark_settings.endpoint.kind} {spark_settings.conf}")
    open_session("test", spark_settings)


@pytest.mark.parametrize(
    ("url", "kind", "addresses"),
    [
        ("local", "local", ()),
        ("local[*]", "local", ()),
        ("local[2]", "local", ()),
        ("local[4,2]", "local", ()),
        ("spark://10.0.0.5:7077", "cluster", (("10.0.0.5", 7077),)),
        ("spark://m1:7077,m2:7078", "cluster", (("m1", 7077), ("m2", 7078))),
        ("spark://master", "cluster", (("master", 7077),)),
        ("k8s://https://kube.example:6443", "cluster", (("kube.example", 6443),)),
        ("k8s://kube.example", "cluster", (("kube.example", 443),)),
        ("sc://spark-connect.spark.svc:15002", "connect", (("spark-connect.spark.svc", 15002),)),
        ("sc://127.0.0.1", "connect", (("127.0.0.1", 15002),)),
        ("sc://h:1/;user_id=etl;use_ssl=true", "connect", (("h", 1),)),
        ("sc://[::1]:15002", "connect", (("::1", 15002),)),
    ],
)
def test_every_kind_of_endpoint_parses(url, kind, addresses):
    endpoint = parse_endpoint(url)
    assert (endpoint.kind, endpoint.addresses) == (kind, addresses)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "local[0]",
        "local[x]",
        "yarn-ish",
        "spark://",
        "spark://h:99999",
        "sc://",
        "sc:/h:1",
        "k8s://",
        "http://h:7077",
        "spark://a b:7077",
    ],
)
def test_a_malformed_endpoint_exits_2_naming_it_and_the_forms(bad):
    result = CliRunner().invoke(stage, ["--master", bad])
    assert result.exit_code == 2, result.output
    assert "--master" in result.output and repr(bad.strip()) in result.output
    assert "sc://HOST:PORT" in result.output or "out of range" in result.output


def test_the_env_var_sets_the_endpoint_for_a_spec(monkeypatch):
    env = {"PACHFLOW_SPARK_MASTER": "sc://nowhere:1", "PACHFLOW_SPARK_TIMEOUT": "0.2"}
    result = CliRunner().invoke(stage, [], env=env)
    assert result.output.startswith("connect")


def test_spark_remote_is_honoured_unless_pachflow_s_setting_says_otherwise():
    unset = {"PACHFLOW_SPARK_MASTER": None}
    remote = CliRunner().invoke(
        stage, ["--spark-timeout", "0.2"], env={**unset, "SPARK_REMOTE": "sc://nowhere:1"}
    )
    assert remote.output.startswith("connect")
    assert resolve_master(None, {}) == "local[*]"
    assert resolve_master("local[2]", {"SPARK_REMOTE": "sc://h:1"}) == "local[2]"


def test_credentials_never_reach_a_message():
    url = "sc://h:1/;user_id=etl;token=s3cret"
    assert parse_endpoint(url).public_url == "sc://h:1"
    assert public_url("k8s://https://admin:pw@kube:6443") == "k8s://https://kube:6443"
    port = free_port()
    result = CliRunner().invoke(
        stage, ["--master", f"sc://127.0.0.1:{port}/;token=s3cret", "--spark-timeout", "0.2"]
    )
    assert result.exit_code == 2 and "s3cret" not in result.output
    assert f"sc://127.0.0.1:{port} does not answer" in result.output
    bad = CliRunner().invoke(stage, ["--master", "sc://h:99999/;token=s3cret"])
    assert bad.exit_code == 2 and "s3cret" not in bad.output


def test_an_endpoint_that_does_not_answer_exits_2_naming_it_within_the_timeout():
    port = free_port()  # nothing listens there
    for url in (f"sc://127.0.0.1:{port}", f"spark://127.0.0.1:{port}"):
        start = time.monotonic()
        result = CliRunner().invoke(stage, ["--master", url, "--spark-timeout", "1"])
        took = time.monotonic() - start
        assert result.exit_code == 2, result.output
        assert f"Spark endpoint {url} does not answer" in result.output
        assert f"127.0.0.1:{port}" in result.output and "within 1 s" in result.output
        assert took < 10


def test_spark_conf_items_are_parsed_and_checked():
    ok = CliRunner().invoke(
        stage,
        ["--master", "sc://127.0.0.1:1", "--spark-timeout", "0.2"],
        env={"PACHFLOW_SPARK_CONF": "spark.executor.memory=2g spark.x.y=a=b"},
    )
    assert "(('spark.executor.memory', '2g'), ('spark.x.y', 'a=b'))" in ok.output
    bad = CliRunner().invoke(stage, ["--spark-conf", "executor.memory=2g"])
    assert bad.exit_code == 2 and "expected spark.KEY=VALUE" in bad.output


def test_help_names_every_form_and_the_env_var():
    out = CliRunner().invoke(stage, ["--help"], terminal_width=200).output
    for text in (
        "local[*]",
        "spark://",
        "k8s://",
        "sc://",
        "PACHFLOW_SPARK_MASTER",
        "SPARK_REMOTE",
        "PACHFLOW_SPARK_TIMEOUT",
        "--spark-conf",
    ):
        assert text in out, text
