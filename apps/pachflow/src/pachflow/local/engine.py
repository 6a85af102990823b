"""The local Spark engine: one Spark Connect server per $PACHFLOW_HOME that outlives runs
(`pachflow engine start|stop|status`, `pachflow run --spark engine`).

A run's `connect` server is a cold JVM every time: the first pass over the data costs
1.7-1.9x a warm one (issue 26). The engine is started once, warmed up with a small job
like the stages' (pachflow_spark.cds_workload), and then serves every Spark job of every
run, each in a session of its own that ends with the job's process.

Processes: a small supervisor (pachflow.local.engine_supervisor), detached from the
terminal, leads a process group of its own; the server's JVM is its child in that group
and dies with it. `stop` ends the whole group. The supervisor stops the engine when it
has been idle for its idle timeout (no run holds it and nothing touched it): no JVM stays
forever. The state (JVM pid, port, process group, start and last-use times, the runs
using it) is `$PACHFLOW_HOME/engine.json`, changed under `engine.lock`; the logs are in
`$PACHFLOW_HOME/logs/engine/<start time>/`. A state whose processes are gone (a kill -9,
a reboot) is found stale and removed by whoever reads it next.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from pachflow_spark.servers import LOOPBACK, SparkServerError, free_port
from pachflow_store.locks import waiting_exclusive
from pachflow_store.processes import DatumGroup, is_running, members, start_time, stop

STATE_FILE = "engine.json"
LOCK_FILE = "engine.lock"
SUPERVISOR_LOG = "supervisor.log"
SERVER_LOG = "spark-connect.log"
IDLE_ENV = "PACHFLOW_ENGINE_IDLE_TIMEOUT"
DEFAULT_IDLE = "30m"
#: "0" (or false/no/off): ready as soon as the server listens, without the warm-up job.
WARM_UP_ENV = "PACHFLOW_ENGINE_WARM_UP"
STARTING, READY = "starting", "ready"
#: The JVM start plus the warm-up job: ~25 s on an idle 2-core machine, minutes if loaded.
READY_TIMEOUT_S = float(os.environ.get("PACHFLOW_ENGINE_START_TIMEOUT", "600"))


class EngineError(SparkServerError):
    """The engine did not come up (its supervisor's log tail is in the message)."""


def idle_timeout_s(text: str) -> float:
    """A Go duration ("30m", "1h", "90s", "0.5s"), > 0; ValueError otherwise."""
    from pachflow.pipeline_spec.cronspec import go_duration_s

    seconds = go_duration_s(text.strip())
    if seconds <= 0:
        raise ValueError(f"idle timeout {text!r}: must be more than 0")
    return seconds


def default_idle_timeout_s() -> float:
    """$PACHFLOW_ENGINE_IDLE_TIMEOUT, else 30 minutes (ValueError when it is invalid)."""
    return idle_timeout_s(os.environ.get(IDLE_ENV) or DEFAULT_IDLE)


def default_warm_up() -> bool:
    """$PACHFLOW_ENGINE_WARM_UP read as `engine start --warm-up/--no-warm-up` reads it
    (1/0, true/false, yes/no, on/off), else on; ValueError when it is none of those."""
    import click

    text = os.environ.get(WARM_UP_ENV, "").strip()
    if not text:
        return True
    try:
        return bool(click.BOOL.convert(text, None, None))
    except click.BadParameter:
        raise ValueError(f"{text!r} is not a yes or a no (1/0, true/false, on/off)") from None


@dataclass(frozen=True)
class Engine:
    """One engine's state, as `engine.json` holds it."""

    home: str
    pgid: int  # the supervisor's pid: it leads the group, the JVM is in it
    leader_started: int  # the supervisor's start time (clock ticks since boot)
    port: int
    master: str
    driver_memory: str
    idle_timeout: float  # seconds
    started: float  # epoch seconds
    last_used: float
    log_dir: str
    status: str = STARTING
    pid: int = 0  # the server JVM's, once started
    users: dict[str, int] = field(default_factory=dict)  # pid -> start time: runs using it
    warm_up: bool = True  # run the warm-up job before it is ready

    @property
    def url(self) -> str:
        return f"sc://{LOOPBACK}:{self.port}"

    @property
    def group(self) -> DatumGroup:
        return DatumGroup(self.pgid, self.leader_started, "engine", "")

    @property
    def server_log(self) -> Path:
        return Path(self.log_dir) / SERVER_LOG

    @property
    def supervisor_log(self) -> Path:
        return Path(self.log_dir) / SUPERVISOR_LOG

    def processes(self) -> list[int]:
        """The live processes of its group (the supervisor, the JVM, what they started)."""
        return members(self.group)

    def alive(self) -> bool:
        """Its supervisor runs and, once started, its JVM too."""
        live = self.processes()
        return self.pgid in live and (self.pid == 0 or self.pid in live)

    def live_users(self) -> dict[str, int]:
        return {pid: t for pid, t in self.users.items() if is_running(int(pid), t)}

    def describe(self) -> str:
        return (
            f"the Spark engine {self.url} (JVM pid {self.pid}, master {self.master}, driver "
            f"memory {self.driver_memory}; log {self.server_log})"
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def state_path(home: Path) -> Path:
    return home / STATE_FILE


def read(home: Path) -> Engine | None:
    """The state as written (alive or not), None when there is none or it is unreadable."""
    try:
        data = json.loads(state_path(home).read_text())
        return Engine(**data)
    except (OSError, ValueError, TypeError):
        return None


def write(engine: Engine) -> None:
    """Replace the state in one step: a reader sees the old or the new, never half."""
    path = state_path(Path(engine.home))
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(engine.as_json(), indent=2, sort_keys=True))
    partial.replace(path)


def remove(engine: Engine) -> None:
    """Remove the state if it is still this engine's (by its process group)."""
    current = read(Path(engine.home))
    if current is not None and current.pgid == engine.pgid:
        state_path(Path(engine.home)).unlink(missing_ok=True)


@contextmanager
def locked(home: Path) -> Iterator[None]:
    """Hold engine.lock (waits): every read-modify-write of the state is under it."""
    home.mkdir(parents=True, exist_ok=True)
    with waiting_exclusive(home / LOCK_FILE):
        yield


def _drop_stale(home: Path) -> tuple[Engine | None, Engine | None]:
    """(the live engine, the stale state removed); call under the lock. A state is stale
    when its supervisor is gone or its JVM died: what is left of the group is stopped."""
    engine = read(home)
    if engine is None:
        if state_path(home).exists():  # unreadable: nobody can use it
            state_path(home).unlink(missing_ok=True)
        return None, None
    if engine.alive():
        return engine, None
    stop([engine.group], grace_s=2.0)
    remove(engine)
    return None, engine


def current(home: Path) -> tuple[Engine | None, Engine | None]:
    """(the running engine or None, the stale state this call removed or None)."""
    with locked(home):
        return _drop_stale(home)


def _touched(engine: Engine, user: int | None, release: bool) -> Engine:
    users = engine.live_users()
    if user is not None:
        if release:
            users.pop(str(user), None)
        else:
            users[str(user)] = start_time(user)
    return replace(engine, last_used=time.time(), users=users)


def touch(home: Path, user: int | None = None, release: bool = False) -> Engine | None:
    """Mark the running engine used now; `user` (a process) holds it until it releases it
    (`release`) or exits: the idle timeout does not stop an engine a run holds. None when
    no engine runs."""
    with locked(home):
        engine, _ = _drop_stale(home)
        if engine is None:
            return None
        engine = _touched(engine, user, release)
        write(engine)
        return engine


def ensure(
    home: Path,
    master: str,
    driver_memory: str,
    idle_timeout: float,
    user: int | None = None,
    port: int | None = None,
    warm_up: bool = True,
) -> tuple[Engine, bool]:
    """(the engine, whether this call started it): the running one (touched, held by
    `user`), else a new one starting (not ready yet: `wait_ready`)."""
    with locked(home):
        engine, _ = _drop_stale(home)
        if engine is not None:
            engine = _touched(engine, user, release=False)
            write(engine)
            return engine, False
        log_dir = home / "logs" / "engine" / time.strftime("%Y%m%dT%H%M%S")
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / SUPERVISOR_LOG).open("ab") as log:
            supervisor = subprocess.Popen(
                [sys.executable, "-m", "pachflow.local.engine_supervisor", str(home)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=log_dir,
                start_new_session=True,  # its own group, no terminal: it outlives the caller
            )
        now = time.time()
        engine = Engine(
            home=str(home),
            pgid=supervisor.pid,
            leader_started=start_time(supervisor.pid),
            port=port or free_port(),
            master=master,
            driver_memory=driver_memory,
            idle_timeout=idle_timeout,
            started=now,
            last_used=now,
            log_dir=str(log_dir),
            warm_up=warm_up,
        )
        engine = _touched(engine, user, release=False)
        write(engine)  # the supervisor reads it once it gets the lock
        return engine, True


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(engine: Engine, timeout: float = READY_TIMEOUT_S) -> Engine:
    """Wait until the engine has warmed up; EngineError naming its log if it stops first."""
    deadline = time.monotonic() + timeout
    home = Path(engine.home)
    while True:
        now = read(home)
        if now is not None and now.pgid == engine.pgid and now.status == READY:
            return now
        if now is None or now.pgid != engine.pgid or not now.alive():
            raise EngineError(
                f"the Spark engine (port {engine.port}) stopped while starting; its log "
                f"{engine.supervisor_log} ends:\n{tail(engine.supervisor_log)}"
            )
        if time.monotonic() > deadline:
            stop_engine(home)
            raise EngineError(
                f"the Spark engine (port {engine.port}) was not ready within {timeout:g} s "
                f"(stopped); its log {engine.supervisor_log} ends:\n{tail(engine.supervisor_log)}"
            )
        time.sleep(0.2)


def stop_engine(home: Path) -> Engine | None:
    """Stop the engine's whole process group and remove its state; the engine that was
    stopped (alive or stale), or None when there was none."""
    with locked(home):  # removed first: nobody picks the engine up while it stops
        engine = read(home)
        state_path(home).unlink(missing_ok=True)
    if engine is not None:
        stop([engine.group])  # the supervisor's own clean-up takes the lock meanwhile
    return engine
