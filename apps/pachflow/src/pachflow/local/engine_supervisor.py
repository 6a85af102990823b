"""The local Spark engine's supervisor: `python -m pachflow.local.engine_supervisor HOME`,
started detached (its own session and process group) by pachflow.local.engine.ensure,
with its output in the engine's supervisor.log.

It starts the Spark Connect server in its own process group, sized as the state says,
runs the warm-up job (pachflow_spark.cds_workload; unless the state says warm-up off),
marks the engine ready, then checks every few seconds: the JVM exited -> the state is
removed (the next user starts a new engine); idle for the idle timeout with no run
holding it -> the JVM is stopped and the state removed; the state removed or replaced
(`pachflow engine stop`) -> the JVM is stopped. SIGTERM (`stop` signals the whole
group) does the same.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import FrameType

from pachflow.local import engine as state
from pachflow_spark.cds_workload import warm_up_argv
from pachflow_spark.java import JavaMissing
from pachflow_spark.servers import ConnectServer, SparkServerError, start_connect_server
from pachflow_stagekit.parent import die_with_parent


def say(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}", flush=True)


def check_interval(idle_timeout: float) -> float:
    """Often enough that a tiny timeout (tests) is honoured, at most every 5 s."""
    return min(5.0, max(0.2, idle_timeout / 4))


def _mine(home: Path) -> state.Engine | None:
    found = state.read(home)
    return found if found is not None and found.pgid == os.getpid() else None


def _update(home: Path, **changes: object) -> state.Engine | None:
    with state.locked(home):
        found = _mine(home)
        if found is None:
            return None
        found = replace(found, **changes)  # type: ignore[arg-type]
        state.write(found)
        return found


def _warm_up(url: str) -> None:
    started = time.monotonic()
    subprocess.run(
        warm_up_argv(url),
        stdin=subprocess.DEVNULL,
        check=True,
        timeout=state.READY_TIMEOUT_S,
        preexec_fn=die_with_parent(),
    )
    say(f"warmed up in {time.monotonic() - started:.1f} s")


def _watch(home: Path, server: ConnectServer) -> int:
    """Until the engine ends: its exit status."""
    engine = _mine(home)
    assert engine is not None
    while True:
        time.sleep(check_interval(engine.idle_timeout))
        code = server.process.proc.poll()
        if code is not None:
            say(f"the Spark Connect server exited with code {code}: the engine is gone")
            return 1
        with state.locked(home):
            found = _mine(home)
            if found is None:
                say("the state was removed: stopping")
                return 0
            users = found.live_users()
            idle = time.time() - found.last_used
            if not users and idle >= found.idle_timeout:
                say(f"idle for {idle:.0f} s (timeout {found.idle_timeout:g} s): stopping")
                state.remove(found)
                return 0
            if users != found.users:  # a run that held it is gone
                state.write(replace(found, users=users))
            engine = found


def run(home: Path) -> int:
    with state.locked(home):  # the starter wrote the state before releasing the lock
        engine = _mine(home)
    if engine is None:
        say(f"no engine state for this process (pid {os.getpid()}) in {home}")
        return 1
    server = None
    try:
        say(
            f"starting a Spark Connect server on {engine.url} (master {engine.master}, "
            f"driver memory {engine.driver_memory}, idle timeout {engine.idle_timeout:g} s)"
        )
        server = start_connect_server(
            engine.server_log,
            master=engine.master,
            driver_memory=engine.driver_memory,
            port=engine.port,
            wait=False,
            new_session=False,  # in this process's group: `stop` ends both at once
        )
        if _update(home, pid=server.process.pid) is None:
            return 0
        server.process.wait_for_port(engine.port)
        if engine.warm_up:
            say(f"listening (JVM pid {server.process.pid}); warming up")
            _warm_up(engine.url)
        else:
            say(f"listening (JVM pid {server.process.pid}); not warmed up (warm-up off)")
        if _update(home, status=state.READY, last_used=time.time()) is None:
            return 0
        say("ready")
        return _watch(home, server)
    except (SparkServerError, JavaMissing) as exc:
        say(f"the engine did not start: {exc}")
        return 1
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        say(f"the warm-up job failed: {exc}")
        return 1
    finally:
        if server is not None:
            server.stop()
            say("stopped the Spark Connect server")
        with state.locked(home):
            found = _mine(home)
            if found is not None:
                state.remove(found)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    sys.exit(run(Path(sys.argv[1])))
