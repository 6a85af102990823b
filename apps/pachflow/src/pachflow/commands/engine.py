"""`pachflow engine start|stop|status`: the store's long-lived local Spark engine
(pachflow.local.engine)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pachflow.commands.local_run import specs_option
from pachflow.commands.local_store import emit_json
from pachflow_stagekit import BadInput
from pachflow_stagekit.options import json_option
from pachflow_store import resolve_home

if TYPE_CHECKING:
    from pachflow.local.engine import Engine

IDLE_HELP = (
    "Stop the engine after this long with no job (a Go duration: 30m, 1h, 90s). It does "
    "not stop while a `pachflow run` holds it."
)


def _idle_timeout(ctx: click.Context, param: click.Parameter, value: str) -> float:
    from pachflow.local.engine import idle_timeout_s

    try:
        return idle_timeout_s(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc


@click.group(name="engine")
def engine() -> None:
    """A long-lived local Spark engine: one Spark Connect server per $PACHFLOW_HOME that
    outlives runs, so Spark jobs do not pay a cold JVM each (class loading, JIT).

    `start` launches it detached from the terminal (a supervisor and the server's JVM in
    a process group of their own), sized like `pachflow run --spark connect`'s server (the
    largest driver memory and master the Spark stages ask for, the class archive) and
    warmed up with a small job like the stages'. `pachflow run --spark engine` uses it
    (and starts it when none runs); each job gets a session of its own. It stops itself
    after its idle timeout; `stop` stops it now. State: $PACHFLOW_HOME/engine.json; logs:
    $PACHFLOW_HOME/logs/engine/.
    """


@engine.command(name="start")
@specs_option
@click.option(
    "--idle-timeout",
    envvar="PACHFLOW_ENGINE_IDLE_TIMEOUT",
    show_envvar=True,
    default="30m",
    show_default=True,
    callback=_idle_timeout,
    help=IDLE_HELP,
)
@click.option(
    "--warm-up/--no-warm-up",
    envvar="PACHFLOW_ENGINE_WARM_UP",
    show_envvar=True,
    default=True,
    show_default=True,
    help=(
        "Run a small job like the stages' before the engine is ready (~15 s), so the "
        "first real job finds the classes loaded. --no-warm-up: ready as soon as the "
        "server listens. The variable also sets it for the engine `pachflow run --spark "
        "engine` starts."
    ),
)
def start(specs_dir: Path | None, idle_timeout: float, warm_up: bool) -> None:
    """Start the engine (if none runs) and wait until it has warmed up. Sized for the
    Spark stages of the specs (--specs, else the nearest pipelines/), or local[*] with
    2g when there are none."""
    from pachflow.local import engine as local_engine

    home = resolve_home()
    master, memory = _size(specs_dir)
    found, started = local_engine.ensure(home, master, memory, idle_timeout, warm_up=warm_up)
    if not started:
        click.echo(f"already running: {_line(found)}")
        return
    click.echo(
        f"starting the Spark engine {found.url} (master {master}, driver memory {memory}) "
        f"and warming it up; log {found.supervisor_log} ...",
        err=True,
    )
    try:
        ready = local_engine.wait_ready(found)
    except local_engine.EngineError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"running: {_line(ready)}")


def _size(specs_dir: Path | None) -> tuple[str, str]:
    """(master, driver memory) for the specs' Spark stages, as `--spark connect` sizes."""
    from pachflow.local.run_spark import (
        DEFAULT_MEMORY,
        is_spark_stage,
        server_master,
        server_memory,
    )
    from pachflow.local.specs import SpecError, load_specs

    try:
        specs = [s for s in load_specs(specs_dir) if is_spark_stage(s)]
    except SpecError as exc:
        if specs_dir is not None:
            raise BadInput("the pipeline specs are not valid:", str(exc).splitlines()) from None
        return "local[*]", DEFAULT_MEMORY
    if not specs:
        return "local[*]", DEFAULT_MEMORY
    return server_master(specs), server_memory(specs)


@engine.command(name="stop")
def stop() -> None:
    """Stop the engine: its whole process group (supervisor, JVM), and remove its state.
    A run using it fails its Spark datum's try, and restarts it for the next try."""
    from pachflow.local.engine import stop_engine

    stopped = stop_engine(resolve_home())
    if stopped is None:
        click.echo("stopped: no Spark engine was running")
    else:
        click.echo(f"stopped the Spark engine {stopped.url} (process group {stopped.pgid})")


@engine.command(name="status")
@json_option()
def status(as_json: bool) -> None:
    """Running or stopped; if running: its URL, JVM pid, master, driver memory, idle time
    and when the idle timeout stops it, the runs holding it, its logs. A state left by an
    engine that died is removed (and said so)."""
    from pachflow.local.engine import current

    home = resolve_home()
    found, stale = current(home)
    if as_json:
        emit_json(
            {
                "running": found is not None,
                "engine": found.as_json() if found else None,
                "url": found.url if found else None,
                "idle_seconds": time.time() - found.last_used if found else None,
                "stale_removed": stale.as_json() if stale else None,
            }
        )
        return
    if stale is not None:
        click.echo(
            f"removed the state of a Spark engine that had died ({stale.url}, process group "
            f"{stale.pgid})"
        )
    if found is None:
        click.echo(f"stopped: no Spark engine for {home}")
        return
    click.echo(f"running: {_line(found)}")
    idle = time.time() - found.last_used
    users = found.live_users()
    held = f"; held by {len(users)} run(s) (pid {', '.join(users)})" if users else ""
    click.echo(
        f"  idle {_minutes(idle)} (stops after {_minutes(found.idle_timeout)} idle){held}; "
        f"started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(found.started))}"
    )
    click.echo(f"  logs: {found.log_dir}")


def _line(found: Engine) -> str:
    return (
        f"{found.url} ({found.status}; JVM pid {found.pid}, process group {found.pgid}; "
        f"master {found.master}, driver memory {found.driver_memory})"
    )


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
