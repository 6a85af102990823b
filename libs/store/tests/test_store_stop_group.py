"""stop_group: a process group the runner started (a datum, s3rver, a test server) is
stopped whole, by SIGKILL when its leader ignores SIGTERM."""

from __future__ import annotations

import subprocess
import sys
import time

from pachflow_store.processes import alive, stop_group

# the leader ignores SIGTERM and starts a child in its group, whose pid it prints
STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
kid = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(kid.pid, flush=True)
time.sleep(60)
"""


def test_a_leader_that_ignores_sigterm_is_killed_with_its_group() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, start_new_session=True
    )
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    stop_group(proc, grace_s=0.3)
    assert proc.returncode == -9
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(child)


def test_a_group_already_gone_is_no_error() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    proc.wait()
    stop_group(proc)
    assert proc.returncode == 0
