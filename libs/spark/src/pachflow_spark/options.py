"""The click options every Spark stage takes, with PACHFLOW_SPARK_* env defaults."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import click

from pachflow_spark.session import DEFAULT_DRIVER_MEMORY, DEFAULT_MASTER, SparkSettings

#: A heap size both Spark and the JVM's -Xmx/-Xms accept: 4g, 512m, 1024k, 2T.
JVM_SIZE = re.compile(r"[1-9][0-9]*[kmgtKMGT]")


def _jvm_size(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not JVM_SIZE.fullmatch(value):
        raise click.BadParameter(
            f"{value!r} is not a heap size: expected a number and a unit k, m, g or t "
            "(e.g. 4g, 512m)",
            ctx,
            param,
        )
    return value


def spark_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add --master, --driver-memory and --shuffle-partitions; the command receives
    `spark_settings: SparkSettings` instead of the three values."""
    options = [
        click.option(
            "--master",
            envvar="PACHFLOW_SPARK_MASTER",
            default=DEFAULT_MASTER,
            show_default=True,
            help="Spark master: local[N] on one machine, or a cluster URL (spark://...).",
        ),
        click.option(
            "--driver-memory",
            envvar="PACHFLOW_SPARK_DRIVER_MEMORY",
            default=DEFAULT_DRIVER_MEMORY,
            show_default=True,
            callback=_jvm_size,
            help="JVM heap of the Spark driver (in local mode, all of Spark).",
        ),
        click.option(
            "--shuffle-partitions",
            envvar="PACHFLOW_SPARK_SHUFFLE_PARTITIONS",
            type=click.IntRange(min=1),
            default=None,
            help="spark.sql.shuffle.partitions [default: sized for the data, >= local cores].",
        ),
    ]

    def wrapper(
        *args: Any, master: str, driver_memory: str, shuffle_partitions: int | None, **kw: Any
    ) -> Any:
        kw["spark_settings"] = SparkSettings(master, driver_memory, shuffle_partitions)
        return func(*args, **kw)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper
