"""The click options every Spark stage takes (which Spark, its driver memory, shuffle
partitions, how long a remote Spark has to answer, extra settings), with PACHFLOW_SPARK_*
env defaults."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, overload

import click

from pachflow_spark.endpoint import (
    DEFAULT_TIMEOUT_S,
    FORMS,
    EndpointError,
    parse_endpoint,
    resolve_master,
)
from pachflow_spark.session import DEFAULT_DRIVER_MEMORY, SparkSettings
from pachflow_stagekit.options import env_options

#: `spark.some.key=value`, as spark-submit's --conf takes it.
CONF_ITEM = re.compile(r"(?P<key>spark\.[A-Za-z0-9_.-]+)=(?P<value>.*)", re.S)

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


def _endpoint(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    master = resolve_master(value)
    try:
        parse_endpoint(master)
    except EndpointError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc
    return master


def _conf(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """--spark-conf KEY=VALUE (repeatable); from PACHFLOW_SPARK_CONF, whitespace-separated."""
    pairs = []
    for item in value:
        match = CONF_ITEM.fullmatch(item)
        if not match:
            raise click.BadParameter(
                f"{item!r} is not a Spark setting: expected spark.KEY=VALUE", ctx, param
            )
        pairs.append((match["key"], match["value"]))
    return tuple(pairs)


Command = Callable[..., Any]
#: --master, --driver-memory, --shuffle-partitions read PACHFLOW_SPARK_<OPTION>;
#: --spark-timeout, --spark-conf read PACHFLOW_<OPTION> (PACHFLOW_SPARK_TIMEOUT, ..._CONF).
spark_option = env_options("PACHFLOW_SPARK")
pachflow_option = env_options("PACHFLOW")


@overload
def spark_options(func: Command, *, shuffle_partitions: bool = True) -> Command: ...
@overload
def spark_options(
    func: None = None, *, shuffle_partitions: bool = True
) -> Callable[[Command], Command]: ...
def spark_options(
    func: Command | None = None, *, shuffle_partitions: bool = True
) -> Command | Callable[[Command], Command]:
    """Add --master, --driver-memory, --spark-timeout, --spark-conf and (unless
    `shuffle_partitions=False`, for a stage that sets its own partitioning)
    --shuffle-partitions; the command receives `spark_settings: SparkSettings` instead.

    Use as `@spark_options` or `@spark_options(shuffle_partitions=False)`."""
    if func is None:
        return functools.partial(spark_options, shuffle_partitions=shuffle_partitions)
    options = [
        spark_option(
            "--master",
            default=None,
            callback=_endpoint,
            help=f"Which Spark: {FORMS}. local runs Spark in this process; a cluster master "
            "makes this process the driver; sc:// is a Spark Connect server (the driver; no "
            "JVM here). [default: $SPARK_REMOTE if set, else local[*]]",
        ),
        spark_option(
            "--driver-memory",
            default=DEFAULT_DRIVER_MEMORY,
            callback=_jvm_size,
            help="JVM heap of the Spark driver (in local mode, all of Spark; unused on "
            "Spark Connect, where the server is the driver).",
        ),
        pachflow_option(
            "--spark-timeout",
            type=click.FloatRange(min=0.1),
            default=DEFAULT_TIMEOUT_S,
            help="Seconds a cluster master or Connect server has to answer (else exit 2).",
        ),
        pachflow_option(
            "--spark-conf",
            multiple=True,
            metavar="spark.KEY=VALUE",
            callback=_conf,
            help="Extra Spark setting, repeatable (env: whitespace-separated), e.g. "
            "spark.executor.memory=2g or spark.kubernetes.container.image=...",
        ),
    ]
    if shuffle_partitions:
        options.append(
            spark_option(
                "--shuffle-partitions",
                type=click.IntRange(min=1),
                default=None,
                help="spark.sql.shuffle.partitions [default: one per local core, at least 2].",
            )
        )

    command = func

    def wrapper(
        *args: Any,
        master: str,
        driver_memory: str,
        spark_timeout: float,
        spark_conf: tuple[tuple[str, str], ...],
        **kw: Any,
    ) -> Any:
        partitions = kw.pop("shuffle_partitions", None)
        kw["spark_settings"] = SparkSettings(
            master, driver_memory, partitions, spark_timeout, spark_conf
        )
        return command(*args, **kw)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    decorated: Command = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated
