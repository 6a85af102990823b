"""A child process that dies with the process that started it: the local runner's datums
and the Spark servers it starts must not outlive it, even when it is killed with -9.

Linux's parent-death signal (prctl PR_SET_PDEATHSIG) is set in the forked child before it
execs. It is sent when the *thread* that forked the child ends, so start the child from a
thread that lives as long as the child should (the runner waits in the thread that started
each datum). Its children (a Spark JVM) end with it. Elsewhere (macOS) there is no such
signal: whoever starts the children next stops the survivors (pachflow_store.processes).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(
    sig: signal.Signals = signal.SIGTERM, parent: int | None = None
) -> Callable[[], None] | None:
    """A subprocess.Popen preexec_fn: the child gets `sig` when this process dies.

    The parent may die between fork and prctl; the child then belongs to a reaper and the
    signal never comes, so after prctl the child checks that its parent is still `parent`
    (this process by default) and exits at once (status 128 + sig) if it is not.
    None where prctl does not exist (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    # Everything is looked up here, in the parent: the child runs between fork and exec,
    # where importing or loading a library may deadlock on a lock another thread held.
    prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    expected = os.getpid() if parent is None else parent
    signum = int(sig)
    getppid, exit_now = os.getppid, os._exit

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
        if getppid() != expected:  # the parent died before prctl took effect
            exit_now(128 + signum)

    return preexec
