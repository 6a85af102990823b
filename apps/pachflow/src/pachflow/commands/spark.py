"""`pachflow spark up`: a Spark standalone cluster on this machine, for as long as the
command runs (`make spark-cluster`)."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType

import click

from pachflow.commands.local_store import open_store
from pachflow_stagekit import BadInput


@click.group(name="spark")
def spark() -> None:
    """Spark beside the pipelines: a local standalone cluster to point stages at."""


@spark.command(name="up")
@click.option("--workers", type=click.IntRange(1, 16), default=2, show_default=True)
@click.option(
    "--cores", type=click.IntRange(min=1), default=1, show_default=True, help="Per worker."
)
@click.option("--memory", default="2g", show_default=True, help="Per worker (its executor's).")
@click.option("--port", type=click.IntRange(1, 65535), default=7077, show_default=True)
@click.option("--webui-port", type=click.IntRange(1, 65535), default=8080, show_default=True)
def up(workers: int, cores: int, memory: str, port: int, webui_port: int) -> None:
    """Start a Spark standalone master and WORKERS workers, each its own JVM from
    pyspark's jars, on 127.0.0.1; print the master URL; stop them all on Ctrl-C or SIGTERM
    (and if this command dies: the JVMs die with it). Logs: $PACHFLOW_HOME/logs/spark/up/.

    Then, in another terminal: `pachflow run --spark spark://127.0.0.1:7077`, or any stage
    with `--master spark://127.0.0.1:7077`.
    """
    from pachflow_spark.java import JavaMissing
    from pachflow_spark.servers import SparkServerError, port_open, start_standalone_cluster

    for taken in (port, webui_port):
        if port_open(taken):
            raise BadInput(f"port {taken} on 127.0.0.1 is in use: is a Spark master up already?")
    with open_store() as store:
        root = store.logs_dir / "spark" / "up"
    root.mkdir(parents=True, exist_ok=True)
    click.echo(f"starting a Spark master and {workers} workers (logs in {root}) ...", err=True)
    try:
        cluster = start_standalone_cluster(root, workers, cores, memory, port, webui_port)
    except (SparkServerError, JavaMissing) as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        _stop_on_sigterm()
        click.echo(f"Spark master {cluster.url} (UI {cluster.webui_url}), {workers} workers")
        click.echo("Ctrl-C stops it", err=True)
        while all(p.proc.poll() is None for p in [cluster.master, *cluster.workers]):
            time.sleep(1)
        raise click.ClickException(f"a Spark process exited; see the logs in {Path(root)}")
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
        click.echo("stopped the Spark master and workers", err=True)


def _stop_on_sigterm() -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
