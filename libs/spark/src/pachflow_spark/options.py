"""The click options every Spark stage takes, with PACHFLOW_SPARK_* env defaults."""

from __future__ import annotations

import functools
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


def spark_options(
    func: Callable[..., Any] | None = None, *, shuffle_partitions: bool = True
) -> Any:
    """Add --master, --driver-memory and (unless `shuffle_partitions=False`, for a stage
    that sets its own partitioning) --shuffle-partitions; the command receives
    `spark_settings: SparkSettings` instead of the values.

    Use as `@spark_options` or `@spark_options(shuffle_partitions=False)`."""
    if func is None:
        return functools.partial(spark_options, shuffle_partitions=shuffle_partitions)
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
    ]
    if shuffle_partitions:
        options.append(
            click.option(
                "--shuffle-partitions",
                envvar="PACHFLOW_SPARK_SHUFFLE_PARTITIONS",
                type=click.IntRange(min=1),
                default=None,
                help="spark.sql.shuffle.partitions [default: one per local core, at least 2].",
            )
        )

    def wrapper(*args: Any, master: str, driver_memory: str, **kw: Any) -> Any:
        partitions = kw.pop("shuffle_partitions", None)
        kw["spark_settings"] = SparkSettings(master, driver_memory, partitions)
        return func(*args, **kw)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper
