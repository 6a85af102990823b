"""Loopback servers started by the fixtures: free ports, port checks, stopping a server's
process group."""

from __future__ import annotations

import os
import signal
import subprocess
import time

# One implementation: pachflow_spark's servers (Connect, standalone) need them too.
from pachflow_spark.servers import LOOPBACK, free_port, port_open

__all__ = ["LOOPBACK", "free_port", "port_open", "stop_process_group"]
STOP_TIMEOUT_S = 20.0


def stop_process_group(proc: subprocess.Popen[bytes], port: int) -> None:
    """SIGTERM a server's process group (by its own pid), SIGKILL if it lingers, then
    wait for the port to close. Killed children may stay defunct when PID 1 does not reap
    them; that is harmless, a listening port is not."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=STOP_TIMEOUT_S / 2)
            break
        except subprocess.TimeoutExpired:
            continue
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while port_open(port) and time.monotonic() < deadline:
        time.sleep(0.1)
