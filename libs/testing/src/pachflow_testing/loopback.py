"""Loopback servers started by the fixtures: free ports, port checks, stopping a server's
process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

LOOPBACK = "127.0.0.1"
STOP_TIMEOUT_S = 20.0


def free_port() -> int:
    """A loopback TCP port that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


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
