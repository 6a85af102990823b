"""die_with_parent: a child started with it does not outlive its parent, even a kill -9 of
the parent, and a child whose parent is already gone when it starts exits before its
command runs. Real processes: a parent Python process, its child, SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pachflow_stagekit.parent import die_with_parent

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's prctl"
)

PARENT = """
import subprocess, sys, time
from pachflow_stagekit.parent import die_with_parent
child = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(600)"],
    preexec_fn=die_with_parent() if sys.argv[1] == "with" else None,
)
print(child.pid, flush=True)
time.sleep(600)
"""


def _running(pid: int) -> bool:
    """Alive and not a zombie (nothing may reap an orphan here: PID 1 does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(") ", 1)[1].split()[0] != "Z"


def _orphan_after_parent_killed(mode: str, wait_s: float) -> tuple[int, bool]:
    """Start a parent that starts a child (`mode` with or without the helper), kill -9 the
    parent, and say whether the child still runs once it had time to get its signal."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, mode], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _running(child)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + wait_s  # a bound on waiting, not a speed assertion
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    return child, _running(child)


def test_the_child_dies_when_its_parent_is_killed() -> None:
    child, running = _orphan_after_parent_killed("with", wait_s=30)
    assert not running, f"child {child} outlived its kill -9'd parent"


def test_without_it_the_child_outlives_its_parent() -> None:
    """The control: what the runner's datums and Spark servers did without the signal."""
    child, running = _orphan_after_parent_killed("without", wait_s=2)
    try:
        assert running
    finally:
        os.kill(child, signal.SIGKILL)


def test_a_child_whose_parent_is_already_gone_exits_before_its_command(tmp_path: Path) -> None:
    """The race: the parent dies between fork and prctl, so no signal will ever come; the
    child sees its parent is no longer the one that started it and exits at once."""
    marker = tmp_path / "ran"
    not_my_parent = os.getppid()  # any pid but the child's parent (this process)
    preexec = die_with_parent(parent=not_my_parent)
    done = subprocess.run([sys.executable, "-c", f"open({str(marker)!r}, 'w')"], preexec_fn=preexec)
    assert done.returncode == 128 + signal.SIGTERM
    assert not marker.exists()


def test_a_child_whose_parent_lives_runs_its_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    done = subprocess.run(
        [sys.executable, "-c", f"open({str(marker)!r}, 'w')"], preexec_fn=die_with_parent()
    )
    assert done.returncode == 0
    assert marker.exists()
