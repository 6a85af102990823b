"""Loopback servers started by the fixtures: free ports, port checks, stopping a server's
process group."""

from __future__ import annotations

import subprocess
import time

# One implementation: pachflow_spark's servers (Connect, standalone) need them too.
from pachflow_spark.servers import LOOPBACK, free_port, port_open
from pachflow_store.processes import stop_group

__all__ = ["LOOPBACK", "free_port", "port_open", "stop_process_group"]
STOP_TIMEOUT_S = 20.0


def stop_process_group(proc: subprocess.Popen[bytes], port: int) -> None:
    """SIGTERM a server's process group (by its own pid), SIGKILL if it lingers, then
    wait for the port to close. Killed children may stay defunct when PID 1 does not reap
    them; that is harmless, a listening port is not."""
    stop_group(proc, grace_s=STOP_TIMEOUT_S / 2)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while port_open(port) and time.monotonic() < deadline:
        time.sleep(0.1)
