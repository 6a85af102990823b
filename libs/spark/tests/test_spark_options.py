"""`spark_options`: --master/--driver-memory/--shuffle-partitions, PACHFLOW_SPARK_* env
defaults, handed to the command as one SparkSettings."""

from __future__ import annotations

import click
from click.testing import CliRunner

from pachflow_spark import SparkSettings, spark_options


@click.command()
@spark_options
def show(spark_settings: SparkSettings) -> None:
    click.echo(repr(spark_settings))


def settings(args: list[str], env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(show, args, env=env)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_defaults():
    unset = {
        "PACHFLOW_SPARK_MASTER": None,
        "PACHFLOW_SPARK_DRIVER_MEMORY": None,
        "PACHFLOW_SPARK_SHUFFLE_PARTITIONS": None,
    }
    assert settings([], env=unset) == repr(SparkSettings("local[*]", "4g", None))


def test_env_defaults():
    env = {
        "PACHFLOW_SPARK_MASTER": "local[2]",
        "PACHFLOW_SPARK_DRIVER_MEMORY": "1g",
        "PACHFLOW_SPARK_SHUFFLE_PARTITIONS": "7",
    }
    assert settings([], env) == repr(SparkSettings("local[2]", "1g", 7))


def test_options_override_env():
    env = {"PACHFLOW_SPARK_MASTER": "local[2]", "PACHFLOW_SPARK_DRIVER_MEMORY": "1g"}
    got = settings(["--master", "spark://h:7077", "--driver-memory", "2g"], env)
    assert got == repr(SparkSettings("spark://h:7077", "2g", None))


def test_shuffle_partitions_must_be_positive():
    result = CliRunner().invoke(show, ["--shuffle-partitions", "0"])
    assert result.exit_code == 2 and "--shuffle-partitions" in result.output


def test_driver_memory_must_be_a_heap_size():
    for bad in ("4gb", "lots", "0g", "4"):
        result = CliRunner().invoke(show, ["--driver-memory", bad])
        assert result.exit_code == 2, bad
        assert "--driver-memory" in result.output and "e.g. 4g, 512m" in result.output
    assert "'512m'" in settings(["--driver-memory", "512m"])


def test_a_stage_that_partitions_itself_has_no_shuffle_option():
    @click.command()
    @spark_options(shuffle_partitions=False)
    def own(spark_settings: SparkSettings) -> None:
        click.echo(repr(spark_settings))

    result = CliRunner().invoke(own, ["--shuffle-partitions", "4"])
    assert result.exit_code == 2 and "No such option" in result.output
    assert repr(SparkSettings("local[*]", "4g", None)) in CliRunner().invoke(own, []).output
